// `memc run RECIPE`: artifact + recipe + report, a gate that passes (exit 0) and one that fails (exit 1).

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { memc } from "../helpers/cli.js";
import { ROOT } from "../helpers/fixtures.js";

const work = mkdtempSync(join(tmpdir(), "memc-run-"));

function recipe(name: string, maxIncrease: number): string {
  const path = join(work, `${name}.yaml`);
  const r = {
    memc: 1,
    model: join(ROOT, "fixtures/llama-t"),
    passes: [{ method: "rtn", params: { wbits: 4, group_size: 32 } }],
    output: { dir: join(work, name) },
    eval: { ppl: [join(ROOT, "fixtures/text/english-sample.txt")], seqlen: 512, max_ppl_increase: maxIncrease },
  };
  writeFileSync(path, YAML.stringify(r));
  return path;
}

test("a recipe whose gate holds exits 0 and leaves artifact, resolved recipe and report with the gate rows", () => {
  const r = memc("run", recipe("ok", 0.05), "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const g = out.gates[0];
  // W4 g32 RTN costs llama-t ~1.5% on English (reference.json: 62.62 → 63.76 on the full held-out text)
  assert.ok(g.after > g.before && g.increase < 0.05, JSON.stringify(g));
  const report = JSON.parse(readFileSync(join(work, "ok", "memc.report.json"), "utf8"));
  assert.equal(report.eval.rows[0].after, g.after);
  const saved = YAML.parse(readFileSync(join(work, "ok", "memc.recipe.yaml"), "utf8"));
  assert.deepEqual(saved.passes[0].params, { wbits: 4, group_size: 32, sym: false, exclude: [] });
});

test("a gate that the artifact misses exits 1 and says by how much", () => {
  const r = memc("run", recipe("strict", 0.001));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /eval gate failed: .*english-sample\.txt ppl \d+\.\d+ → \d+\.\d+ \(\+\d+\.\d+%\)/);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
