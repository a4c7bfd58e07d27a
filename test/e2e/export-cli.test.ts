// `memc export` through the CLI: exit codes (0 ok, 2 bad input), the artifact directory's files, no partial
// directory left behind on failure, and a fake-quant dir from `memc quantize` → ct / gptq / onnx (MatMulNBits).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MODEL = "../shared/fixtures/models/llama-t";
const HELDOUT = "../shared/fixtures/text/eval/english-heldout.txt";
const memc = (...args: string[]) => spawnSync(process.execPath, ["bin/memc.js", ...args], { encoding: "utf8" });

test("memc export: usage errors exit 2 and leave nothing behind", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "memc-cli-"));
  try {
    assert.equal(memc("export", MODEL, "-o", join(tmp, "x"), "--format", "tflite").status, 2);
    const r = memc("export", MODEL, "-o", join(tmp, "ct"), "--format", "ct");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /needs the quantization scheme/);
    const bad = memc("export", MODEL, "-o", join(tmp, "gptq"), "--format", "gptq", "--wbits", "4", "--group-size", "32");
    assert.equal(bad.status, 2); // the fp weights lie on no 4-bit grid
    assert.match(bad.stderr, /no 4-bit grid/);
    assert.deepEqual(readdirSync(tmp), []);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test("memc quantize (RTN w4 g32) → memc export ct / gptq / onnx: artifacts with report, recipe and the scheme from the recipe", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "memc-cli-"));
  try {
    const fq = join(tmp, "fq");
    const TEXT = join(tmp, "text.txt"); // the first 16 KB of the held-out text: two 128-token windows, quick to tokenize
    writeFileSync(TEXT, readFileSync(HELDOUT).subarray(0, 16384));
    const q = memc("quantize", MODEL, "-o", fq, "--wbits", "4", "--group-size", "32");
    assert.equal(q.status, 0, q.stderr);
    for (const [format, file] of [["ct", "model.safetensors"], ["gptq", "model.safetensors"], ["onnx", "model.onnx"]] as const) {
      const out = join(tmp, format);
      const r = memc("export", fq, "-o", out, "--format", format, "--json", ...(format === "onnx" ? ["--onnx-dtype", "fp16"] : []), "--ppl", TEXT, "--seqlen", "128", "--max-windows", "2");
      assert.equal(r.status, 0, r.stderr);
      const rep = JSON.parse(r.stdout);
      assert.deepEqual(rep.scheme, { bits: 4, groupSize: 32, sym: false }); // read from memc.recipe.yaml
      for (const f of [file, "config.json", "tokenizer.json", "memc.report.json", "memc.recipe.yaml"]) assert.ok(existsSync(join(out, f)), `${format}: ${f}`);
      assert.ok(rep.artifactBytes < rep.sourceBytes, `${format} is smaller than the fake-quant checkpoint`);
      // measured in the target runtime (ORT / packed reader) next to memc on the fake-quant source, same windows
      assert.equal(rep.ppl.length, 1);
      assert.ok(rep.ppl[0].relDiff < 0.005, `${format}: ppl ${rep.ppl[0].target.ppl} vs memc ${rep.ppl[0].memc.ppl}`);
      if (format === "onnx") assert.equal(rep.details.matmulNBits.length, 28);
      else assert.equal(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).quantization_config.quant_method, format === "ct" ? "compressed-tensors" : "gptq");
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
