// memc export --format onnx, run in onnxruntime-node's CPU EP: fp32 exports reproduce transformers' golden logits
// (llama-t, moe-t); MatMulNBits exports of RTN fake-quant match the same weights as dense MatMuls; external data
// loads; ortPerplexity's NLL equals a direct log-softmax of the golden logits.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportArtifact } from "../../src/export/index.js";
import { openOrtSession, runLogits } from "../../src/export/onnx/ort-session.js";
import { ortPerplexity, windowNll } from "../../src/export/onnx/ort-eval.js";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";
import { toF32, toInts } from "../../src/runtime/convert.js";
import { writeFakeQuant } from "./export-helpers.js";

const MODELS = "../shared/fixtures/models";

async function golden(model: string): Promise<{ ids: Int32Array; logits: Float32Array }[]> {
  const f = await SafetensorsFile.open(join(MODELS, model, "golden.safetensors"));
  const out = [];
  for (const k of [0, 1, 2]) out.push({ ids: toInts(await f.readBytes(`input_ids.${k}`), "I64"), logits: toF32(await f.readBytes(`logits.${k}`), "F32") });
  await f.close();
  return out;
}

const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

for (const model of ["llama-t", "moe-t"]) {
  test(`${model}: ONNX fp32 logits vs transformers golden (max |Δ| < 1e-4)`, async () => {
    const tmp = await mkdtemp(join(tmpdir(), "memc-onnx-"));
    try {
      await exportArtifact(join(MODELS, model), join(tmp, "o"), { format: "onnx", external: model === "moe-t" });
      if (model === "moe-t") assert.ok(existsSync(join(tmp, "o", "model.onnx.data")));
      const s = await openOrtSession(join(tmp, "o", "model.onnx"), "cpu", 2);
      for (const g of await golden(model)) {
        const got = await runLogits(s, g.ids, 1, g.ids.length);
        assert.ok(maxAbs(got, g.logits) < 1e-4, `max |Δ| ${maxAbs(got, g.logits)}`);
      }
      await s.release();
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
}

test("llama-t RTN w4 g32: MatMulNBits graph == dense fake-quant graph (max |Δ| < 1e-4), and it is smaller", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "memc-onnx-"));
  try {
    for (const sym of [false, true]) {
      const fq = join(tmp, `fq-${sym}`);
      await writeFakeQuant(join(MODELS, "llama-t"), fq, { bits: 4, groupSize: 32, sym }, "F32");
      const nb = await exportArtifact(fq, join(tmp, `nb-${sym}`), { format: "onnx", quant: { bits: 4, groupSize: 32, sym } });
      const dense = await exportArtifact(fq, join(tmp, `dense-${sym}`), { format: "onnx" });
      assert.equal((nb.details as { matmulNBits: string[] }).matmulNBits.length, 28);
      assert.ok(nb.artifactBytes < dense.artifactBytes);
      const a = await openOrtSession(join(tmp, `nb-${sym}`, "model.onnx"), "cpu", 2);
      const b = await openOrtSession(join(tmp, `dense-${sym}`, "model.onnx"), "cpu", 2);
      const g = (await golden("llama-t"))[1]!;
      const la = await runLogits(a, g.ids, 1, 64);
      const lb = await runLogits(b, g.ids, 1, 64);
      assert.ok(maxAbs(la, lb) < 1e-4, `sym=${sym}: max |Δ| ${maxAbs(la, lb)}`);
      await a.release();
      await b.release();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test("ortPerplexity on golden windows = exp(mean NLL) of transformers' logits (rel. error < 1e-5)", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "memc-onnx-"));
  try {
    await exportArtifact(join(MODELS, "llama-t"), join(tmp, "o"), { format: "onnx" });
    const gs = await golden("llama-t");
    const r = await ortPerplexity(join(tmp, "o", "model.onnx"), gs.map((g) => g.ids), { threads: 2 });
    let nll = 0;
    for (const g of gs) nll += windowNll(g.logits, g.ids, 64, 8192);
    const want = Math.exp(nll / (3 * 63));
    assert.equal(r.windowTokens.reduce((a, b) => a + b), 189);
    assert.ok(Math.abs(r.ppl / want - 1) < 1e-5, `ort ${r.ppl} vs golden ${want}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test("attention_mask input: all-ones = golden; a left-padded row scores like the unpadded sequence", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "memc-onnx-"));
  try {
    await exportArtifact(join(MODELS, "llama-t"), join(tmp, "o"), { format: "onnx", attentionMask: true });
    const ort = (await import("onnxruntime-node")).default;
    const s = await openOrtSession(join(tmp, "o", "model.onnx"), "cpu", 2);
    const g = (await golden("llama-t"))[2]!;
    const P = 8, S = 64;
    // row 0: the golden sequence; row 1: 8 pad tokens then its first 56 tokens
    const ids = new BigInt64Array(2 * S);
    const mask = new BigInt64Array(2 * S);
    for (let t = 0; t < S; t++) {
      ids[t] = BigInt(g.ids[t]!);
      mask[t] = 1n;
      ids[S + t] = t < P ? 2n : BigInt(g.ids[t - P]!);
      mask[S + t] = t < P ? 0n : 1n;
    }
    const r = await s.run({ input_ids: new ort.Tensor("int64", ids, [2, S]), attention_mask: new ort.Tensor("int64", mask, [2, S]) });
    const l = r.logits!.data as Float32Array;
    const V = 8192;
    assert.ok(maxAbs(l.subarray(0, S * V), g.logits) < 1e-4, "row 0 vs golden");
    assert.ok(maxAbs(l.subarray((S + P) * V, 2 * S * V), g.logits.subarray(0, (S - P) * V)) < 1e-4, "left-padded row vs golden prefix");
    await s.release();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
