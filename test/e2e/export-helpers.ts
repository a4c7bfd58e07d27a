// Test helpers for export tests: a fake-quant checkpoint made with RTN (the stand-in for `memc quantize`).

import { copyFile, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { quantizableLinears } from "../../src/model/names.js";
import type { Dtype } from "../../src/model/safetensors/dtypes.js";
import { writeSafetensors, type TensorSource } from "../../src/model/safetensors/writer.js";
import { fromF32 } from "../../src/runtime/convert.js";
import { roundScales } from "../../src/export/hf/codes.js";
import { dequantizeGroups, quantizeGroups, type QuantSpec } from "../../src/passes/rtn/quantize.js";

/** Writes `src` with every quantizable Linear (whose K the group divides) replaced by fp32 ŵ = (q − z)·s, s rounded
 *  to `scaleDtype`; returns the ŵ by tensor name. */
export async function writeFakeQuant(src: string, dst: string, q: QuantSpec, scaleDtype: Dtype): Promise<Map<string, Float32Array>> {
  const ck = await openCheckpoint(src);
  await mkdir(dst, { recursive: true });
  const quant = new Set<string>();
  for (let i = 0; i < ck.spec.layers; i++) for (const m of quantizableLinears(ck.spec, i)) quant.add(m + ".weight");
  const out = new Map<string, Float32Array>();
  const tensors: TensorSource[] = [];
  for (const name of ck.weights.names()) {
    const info = ck.weights.info(name);
    const [N, K] = info.shape as [number, number];
    if (quant.has(name) && K % q.groupSize === 0) {
      const gq = quantizeGroups(await ck.weights.f32(name), N, K, q);
      const w = dequantizeGroups({ ...gq, scale: roundScales(gq.scale, scaleDtype) });
      out.set(name, w);
      tensors.push({ name, dtype: "F32", shape: info.shape, bytes: () => fromF32(w, "F32") });
    } else {
      const b = await ck.weights.bytes(name);
      tensors.push({ name, dtype: info.dtype, shape: info.shape, bytes: () => b });
    }
  }
  await writeSafetensors(join(dst, "model.safetensors"), tensors);
  for (const f of await readdir(src)) if (f.endsWith(".json")) await copyFile(join(src, f), join(dst, f));
  await ck.weights.close();
  return out;
}
