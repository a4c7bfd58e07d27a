// memc against transformers' reference numbers (../shared/fixtures/reference.json): token counts, fp perplexity
// within 0.1% and RTN within 0.3%, through the real CLI on the tiny models' full English held-out text.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTokenizer } from "../../src/model/tokenizer.js";
import { universalNewlines } from "../../src/eval/text.js";
import { memc } from "../helpers/cli.js";
import { evalText, hasShared, modelDir, reference } from "../helpers/fixtures.js";

const skip = !hasShared && "needs ../shared/fixtures";
const work = mkdtempSync(join(tmpdir(), "memc-ref-"));

test("token counts equal transformers' for every evaluation text", { skip }, async () => {
  const tok = await loadTokenizer(modelDir("llama-t"));
  const want = reference()["llama-s"]!.tokens as Record<string, number>;
  for (const [file, n] of Object.entries(want)) assert.equal(tok.encode(universalNewlines(readFileSync(evalText(file), "utf8"))).length, n, file);
});

function ppl(dir: string, file: string): number {
  const r = memc("eval", dir, "--ppl", evalText(file), "--seqlen", "512", "--json");
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.seqlen, 512);
  assert.equal(j.windows, Math.floor(j.tokens / 512));
  return j.ppl;
}

const cases: [string, string, string[] | null][] = [
  ["llama-t", "fp", null],
  ["llama-t", "rtn_w4g32", ["--wbits", "4", "--group-size", "32"]],
  ["moe-t", "fp", null],
  // reference.json's MoE rtn rows leave the experts unquantized (transformers 5 keeps Mixtral experts as fused
  // parameters, not nn.Linear): attention-only RTN gives 69.508 vs 69.527; quantizing the experts too gives 74.20.
  ["moe-t", "rtn_w3g128", ["--wbits", "3", "--group-size", "128", "--exclude", "experts"]],
];

for (const [model, variant, flags] of cases) {
  test(`${model} ${variant} english-heldout matches reference.json`, { skip }, () => {
    const want = reference()[model]![`${variant}|english-heldout.txt`] as number;
    let dir = modelDir(model);
    if (flags) {
      dir = join(work, `${model}-${variant}`);
      const q = memc("quantize", modelDir(model), "-o", dir, "--method", "rtn", ...flags);
      assert.equal(q.code, 0, q.stderr);
    }
    const got = ppl(dir, "english-heldout.txt");
    const tol = variant === "fp" ? 1e-3 : 3e-3;
    assert.ok(Math.abs(got - want) / want < tol, `ppl ${got.toFixed(4)} vs reference ${want} (tolerance ${tol * 100}%)`);
  });
}

test.after(() => rmSync(work, { recursive: true, force: true }));
