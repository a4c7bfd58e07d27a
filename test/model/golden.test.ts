// Model-level oracle: memc's CPU forward vs transformers' fp32 logits and final hidden states (golden.safetensors).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";
import { toF32, toInts } from "../../src/runtime/convert.js";
import { CpuOps } from "../../src/runtime/cpu/ops.js";
import { hiddenStates, loadHead, freeHead } from "../../src/nn/forward.js";
import { modelDir, hasShared, SHARED_FIXTURES } from "../helpers/fixtures.js";

for (const name of ["llama-t", "moe-t", "llama-s", "moe-s"]) {
  test(`golden logits: ${name}`, { skip: !hasShared && "needs ../shared/fixtures" }, async (t) => {
    const ckpt = await openCheckpoint(modelDir(name));
    const golden = await SafetensorsFile.open(join(SHARED_FIXTURES, "models", name, "golden.safetensors"));
    const ops = new CpuOps();
    const head = await loadHead(ops, ckpt.weights, ckpt.spec);
    try {
      for (const k of [0, 1, 2]) {
        const ids = toInts(await golden.readBytes(`input_ids.${k}`), "I64");
        const want = toF32(await golden.readBytes(`logits.${k}`), "F32");
        const wantH = toF32(await golden.readBytes(`hidden_last.${k}`), "F32");
        const h = await hiddenStates(ops, ckpt.spec, ckpt.weights, head, ids, ids.length);
        const logits = (await ops.linear(h, head.lmHead)).data;
        const { maxAbs, rel } = compare(logits, want);
        const hc = compare(h.data, wantH);
        // fp32 both sides, different summation order: measured ~3e-7 relative; 1e-5 leaves 30x room and still catches a wrong op.
        assert.ok(rel < 1e-5, `${name} seq ${k}: logits relative error ${rel.toExponential(2)} (max abs ${maxAbs.toExponential(2)})`);
        t.diagnostic(`${name} seq ${k}: logits rel ${rel.toExponential(2)} max abs ${maxAbs.toExponential(2)}; hidden rel ${hc.rel.toExponential(2)}`);
        assert.ok(hc.rel < 1e-5, `${name} seq ${k}: hidden relative error ${hc.rel.toExponential(2)}`);
      }
    } finally {
      freeHead(ops, head);
      await golden.close();
      await ckpt.weights.close();
    }
  });
}

function compare(got: Float32Array, want: Float32Array): { maxAbs: number; rel: number } {
  assert.equal(got.length, want.length);
  let maxAbs = 0;
  let num = 0;
  let den = 0;
  for (let i = 0; i < got.length; i++) {
    const d = got[i]! - want[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
    num += d * d;
    den += want[i]! * want[i]!;
  }
  return { maxAbs, rel: Math.sqrt(num / den) };
}
