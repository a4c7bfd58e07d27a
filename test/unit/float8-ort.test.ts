// memc's float8 codec against onnxruntime's ONNX Cast (saturate=1) on the real fixture embedding table and on
// every fp32 midpoint/neighbour of the float8 grid: decoded values must agree bit for bit (NaN aside).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeFloat8Array, encodeFloat8Array, float8Table } from "../../src/runtime/float8.js";
import { ortFloat8RoundTrip } from "../../src/passes/embed/ort-cast.js";
import { SafetensorsFile } from "../../src/model/safetensors/reader.js";
import { toF32 } from "../../src/runtime/convert.js";
import { hasShared, modelDir } from "../helpers/fixtures.js";

for (const fmt of ["e4m3", "e5m2"] as const) {
  test(`${fmt}: memc cast = onnxruntime Cast on grid midpoints, neighbours and out-of-range values`, async () => {
    const t = float8Table(fmt);
    const vals = [...t].filter((v) => Number.isFinite(v) && v >= 0).sort((a, b) => a - b);
    const xs: number[] = [];
    for (let i = 0; i + 1 < vals.length; i++) {
      const mid = Math.fround((vals[i]! + vals[i + 1]!) / 2);
      for (const m of [mid, Math.fround(mid * (1 + 2 ** -22)), Math.fround(mid * (1 - 2 ** -22)), vals[i]!]) xs.push(m, -m);
    }
    xs.push(1e30, -1e30, Infinity, -Infinity, vals[vals.length - 1]! * 1.06);
    const x = Float32Array.from(xs);
    const ours = decodeFloat8Array(encodeFloat8Array(x, fmt), fmt);
    const peer = await ortFloat8RoundTrip(x, fmt);
    for (let i = 0; i < x.length; i++) assert.ok(Object.is(ours[i], peer[i]), `x=${x[i]}: memc ${ours[i]}, onnxruntime ${peer[i]}`);
  });
}

test("e4m3/e5m2: memc cast = onnxruntime Cast on the llama-s embedding table (bf16 → fp32)", { skip: hasShared ? false : "no fixtures" }, async () => {
  const f = await SafetensorsFile.open(join(modelDir("llama-s"), "model.safetensors"));
  const x = toF32(await f.readBytes("model.embed_tokens.weight"), "BF16");
  await f.close();
  for (const fmt of ["e4m3", "e5m2"] as const) {
    const ours = decodeFloat8Array(encodeFloat8Array(x, fmt), fmt);
    const peer = await ortFloat8RoundTrip(x, fmt);
    let diff = 0;
    for (let i = 0; i < x.length; i++) if (!Object.is(ours[i], peer[i])) diff++;
    assert.equal(diff, 0, `${fmt}: ${diff} of ${x.length} values differ`);
  }
});
