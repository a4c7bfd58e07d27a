// `memc eval` on what ships: a packed GPTQ / compressed-tensors checkpoint (dequantized by the format's reader)
// and the exported ONNX model run in onnxruntime (--runtime ort) agree with the fake-quant checkpoint memc made.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
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

test("--runtime ort refuses a device onnxruntime-node cannot use", () => {
  const r = memc("eval", fq, "--runtime", "ort", "--device", "cuda", "--ppl", text);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--device cuda: the ort runtime runs on cpu or webgpu/);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
