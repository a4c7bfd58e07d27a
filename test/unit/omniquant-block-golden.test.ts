// The training block's forward (src/nn/train/block.ts) chained over all layers reproduces transformers' fp32
// hidden states (fixtures golden.safetensors `hidden_last.K`, final norm included) for llama-t and moe-t (Mixtral routing).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { EMBED, FINAL_NORM } from "../../src/model/names.js";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";
import { toF32, toInts } from "../../src/runtime/convert.js";
import { block_forward } from "../../src/nn/train/block.js";
import { rmsnorm_forward } from "../../src/nn/train/rmsnorm.js";
import { blockDims, loadBlock } from "../../src/passes/omniquant/block-weights.js";

const FIX = "../shared/fixtures/models";

async function check(model: string): Promise<void> {
  const ckpt = await openCheckpoint(join(FIX, model));
  const gold = await SafetensorsFile.open(join(FIX, model, "golden.safetensors"));
  try {
    const embed = await ckpt.weights.f32(EMBED);
    const D = ckpt.spec.hidden;
    for (const k of [0, 1]) {
      const ids = toInts(await gold.readBytes(`input_ids.${k}`), gold.info(`input_ids.${k}`).dtype);
      const want = toF32(await gold.readBytes(`hidden_last.${k}`), gold.info(`hidden_last.${k}`).dtype);
      const T = ids.length;
      let x: Float32Array = new Float32Array(T * D);
      ids.forEach((id, t) => x.set(embed.subarray(id * D, id * D + D), t * D));
      const dims = blockDims(ckpt, T);
      for (let i = 0; i < ckpt.spec.layers; i++) x = (await block_forward(x, (await loadBlock(ckpt, i)).w, dims)).y;
      const got = rmsnorm_forward(x, await ckpt.weights.f32(FINAL_NORM), T, D, ckpt.spec.rmsEps).out;
      let maxErr = 0;
      let maxRef = 0;
      for (let i = 0; i < got.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
        maxRef = Math.max(maxRef, Math.abs(want[i]!));
      }
      assert.ok(maxErr < 2e-3 * Math.max(1, maxRef), `${model} sequence ${k}: max |Δ| ${maxErr} (max |ref| ${maxRef})`);
    }
  } finally {
    await gold.close();
    await ckpt.weights.close();
  }
}

test("training block forward matches transformers on llama-t", () => check("llama-t"));
test("training block forward matches transformers on moe-t (top-2 renormalised routing)", () => check("moe-t"));
