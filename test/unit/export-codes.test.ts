// Recovering integer codes from fake-quant weights: exact for F32 storage, exact after BF16 storage when the
// scales are f16 (the lead's quantize writes BF16), refused where the storage cannot hold the codes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { rederiveCodes, roundScales } from "../../src/export/hf/codes.js";
import { fromF32, toF32 } from "../../src/runtime/convert.js";
import { dequantizeGroups, quantizeGroups } from "../../src/passes/rtn/quantize.js";

const N = 16, K = 128;
let seed = 3;
const w = Float32Array.from({ length: N * K }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.3);

function diffs(q: Uint8Array, z: ArrayLike<number>, g: number): Int32Array {
  return Int32Array.from(q, (v, i) => v - z[Math.floor(i / K) * (K / g) + Math.floor((i % K) / g)]!);
}

for (const sym of [false, true]) {
  test(`codes from F32 fake-quant (w4 g32 ${sym ? "sym" : "asym"}): q − z recovered exactly, ŵ unchanged`, () => {
    const gq = quantizeGroups(w, N, K, { bits: 4, groupSize: 32, sym });
    const s16 = roundScales(gq.scale, "F16");
    const wh = dequantizeGroups({ ...gq, scale: s16 });
    const c = rederiveCodes("t", wh, N, K, { bits: 4, groupSize: 32, sym }, "F32", "F16");
    assert.deepEqual(diffs(c.ql.q, c.ql.zero, 32), diffs(gq.q, gq.zero, 32));
    assert.equal(c.changed, 0);
    assert.equal(c.maxAbsDiff, 0);
  });
}

test("codes from BF16-stored fake-quant with f16 scales: recovered, and re-dequantized ŵ is bit-identical in BF16", () => {
  const gq = quantizeGroups(w, N, K, { bits: 4, groupSize: 32, sym: false });
  const s16 = roundScales(gq.scale, "F16");
  const wb = toF32(fromF32(dequantizeGroups({ ...gq, scale: s16 }), "BF16"), "BF16");
  const c = rederiveCodes("t", wb, N, K, { bits: 4, groupSize: 32, sym: false }, "BF16", "F16");
  assert.deepEqual(diffs(c.ql.q, c.ql.zero, 32), diffs(gq.q, gq.zero, 32));
  assert.equal(c.changed, 0);
});

test("8-bit codes cannot be recovered from BF16 weights; a 3-bit grid is not a 2-bit one", () => {
  assert.throws(() => rederiveCodes("t", w, N, K, { bits: 8, groupSize: 32, sym: true }, "BF16", "F16"), /cannot hold 8-bit codes/);
  const gq = quantizeGroups(w, N, K, { bits: 3, groupSize: 32, sym: false });
  assert.throws(() => rederiveCodes("t", dequantizeGroups(gq), N, K, { bits: 2, groupSize: 32, sym: false }, "F32", "F32"), /no 2-bit grid/);
});

test("clipped groups (OmniQuant LWC: codes never reach 0 or 15) are recovered: same ŵ, codes within 4 bits", () => {
  const rows = 4, cols = 64, g = 32;
  let s2 = 9;
  const rnd = () => (s2 = (s2 * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const q = Uint8Array.from({ length: rows * cols }, () => 3 + Math.floor(rnd() * 9)); // codes 3..11 only
  const scale = Float32Array.from({ length: rows * 2 }, () => 0.001 + rnd() * 0.01);
  const zero = Float32Array.from({ length: rows * 2 }, () => 5 + Math.floor(rnd() * 4));
  const wh = dequantizeGroups({ rows, cols, groupSize: g, q, scale: roundScales(scale, "F16"), zero });
  const c = rederiveCodes("t", wh, rows, cols, { bits: 4, groupSize: g, sym: false }, "F32", "F16");
  assert.equal(c.changed, 0);
  assert.ok(c.ql.q.every((v) => v <= 15));
});
