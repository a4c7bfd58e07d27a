// `memc eval` on what ships: a packed GPTQ / compressed-tensors checkpoint (dequantized by the format's reader)
// and the exported ONNX model run in onnxruntime (--runtime ort) agree with the fake-quant checkpoint memc made.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memc } from "../helpers/cli.js";
import { ROOT } from "../helpers/fixtures.js";

const work = mkdtempSync(join(tmpdir(), "memc-evalart-"));
const text = join(ROOT, "fixtures/text/english-sample.txt");
const fq = join(work, "fq");

function ppl(...args: string[]): number {
  const r = memc("eval", ...args, "--ppl", text, "--seqlen", "512", "--max-windows", "8", "--json");
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).ppl;
}

test.before(() => {
  const q = memc("quantize", join(ROOT, "fixtures/llama-t"), "-o", fq, "--wbits", "4", "--group-size", "32");
  assert.equal(q.code, 0, q.stderr);
});

for (const format of ["gptq", "ct"]) {
  test(`${format}: memc eval reads the packed checkpoint; ppl within 0.1% of the fake-quant one (scales stored as F16/BF16)`, () => {
    const out = join(work, format);
    const e = memc("export", fq, "-o", out, "--format", format);
    assert.equal(e.code, 0, e.stderr);
    const [a, b] = [ppl(fq), ppl(out)];
    assert.ok(Math.abs(a - b) / a < 1e-3, `fake-quant ${a} vs ${format} ${b}`);
  });
}

test("onnx: --runtime ort within 0.5% of memc's own runtime on the same windows", () => {
  const out = join(work, "onnx");
  const e = memc("export", fq, "-o", out, "--format", "onnx");
  assert.equal(e.code, 0, e.stderr);
  const [a, b] = [ppl(fq), ppl(out, "--runtime", "ort")];
  assert.ok(Math.abs(a - b) / a < 5e-3, `memc ${a} vs ort ${b}`);
});

test("quantize --format ct / gguf: packed artifact + resolved recipe in one step; ct evaluates like the fake-quant", () => {
  const ct = join(work, "q-ct");
  const q = memc("quantize", join(ROOT, "fixtures/llama-t"), "-o", ct, "--wbits", "4", "--group-size", "32", "--format", "ct");
  assert.equal(q.code, 0, q.stderr);
  assert.match(readFileSync(join(ct, "memc.recipe.yaml"), "utf8"), /format: ct/);
  const [a, b] = [ppl(fq), ppl(ct)];
  assert.ok(Math.abs(a - b) / a < 1e-3, `fake-quant ${a} vs quantize --format ct ${b}`);
  const gg = join(work, "q-gguf");
  const g = memc("quantize", join(ROOT, "fixtures/llama-t"), "-o", gg, "--wbits", "4", "--group-size", "32", "--format", "gguf");
  assert.equal(g.code, 0, g.stderr);
  assert.equal(JSON.parse(readFileSync(join(gg, "memc.report.json"), "utf8")).export.details.type, "q4_1");
  assert.deepEqual(readdirSync(work).filter((f) => f.includes("fakequant")), [], "scratch directories removed");
});

test("--runtime ort refuses a device onnxruntime-node cannot use", () => {
  const r = memc("eval", fq, "--runtime", "ort", "--device", "cuda", "--ppl", text);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--device cuda: the ort runtime runs on cpu or webgpu/);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
