// compressed-tensors pack-quantized against hand-worked words from formats.md §3.2 (signed code + 2^(b−1),
// element i at bit 4i along K; zero points packed along N) and a pack → unpack round trip.

import { test } from "node:test";
import assert from "node:assert/strict";
import { packCt, unpackCt } from "../../src/export/hf/ct.js";
import { dequantizeFp8Channel, quantizeFp8Channel } from "../../src/export/hf/fp8.js";
import { fromF32, toF32 } from "../../src/runtime/convert.js";
import { dequantShifted, type QuantLinear } from "../../src/export/hf/qlinear.js";
import { dequantizeGroups, quantizeGroups } from "../../src/passes/rtn/quantize.js";

const u32 = (x: number) => x >>> 0;

function example(sym: boolean): QuantLinear {
  const N = 8, K = 8;
  const q = new Uint8Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) q[n * K + k] = k; // every row: codes 0..7
  const zero = Float32Array.from({ length: N }, (_, n) => (sym ? 7 : n + 1));
  return { rows: N, cols: K, groupSize: K, bits: 4, sym, q, scale: new Float32Array(N).fill(0.25), zero };
}

test("ct symmetric int4: memc codes 0..7 with zero 7 are q_s = −7..0, stored q_s+8 = 1..8", () => {
  const t = packCt(example(true));
  assert.equal(t.weightPacked.length, 8); // [N, K/8]
  assert.equal(u32(t.weightPacked[0]!), 0x87654321);
  assert.equal(t.weightZeroPoint, undefined);
  assert.deepEqual(t.weightShape, [8, 8]);
});

test("ct asymmetric int4: stored codes are memc's q; zero points n+1 packed along N", () => {
  const t = packCt(example(false));
  assert.equal(u32(t.weightPacked[0]!), 0x76543210);
  assert.equal(t.weightZeroPoint!.length, 1); // [ceil(N/8), G]
  assert.equal(u32(t.weightZeroPoint![0]!), 0x87654321); // row n's zero at bits 4n
});

test("ct int4 pads K to whole words (K = 12 → 2 words per row, upper nibbles 0)", () => {
  const N = 8, K = 12;
  const q = new Uint8Array(N * K).fill(5);
  const ql: QuantLinear = { rows: N, cols: K, groupSize: 12, bits: 4, sym: false, q, scale: new Float32Array(N).fill(1), zero: new Float32Array(N).fill(5) };
  const t = packCt(ql);
  assert.deepEqual([u32(t.weightPacked[0]!), u32(t.weightPacked[1]!)], [0x55555555, 0x00005555]);
});

test("ct 8-bit: four codes per word, stored q_s + 128", () => {
  const ql: QuantLinear = { rows: 4, cols: 4, groupSize: 4, bits: 8, sym: true, q: Uint8Array.from({ length: 16 }, (_, i) => 127 + (i % 4)), scale: new Float32Array(4).fill(1), zero: new Float32Array(4).fill(127) };
  const t = packCt(ql);
  assert.equal(u32(t.weightPacked[0]!), 0x83828180); // q_s = 0..3 → 128..131
});

test("ct pack → unpack reproduces RTN's fake-quant weights bit for bit", () => {
  const N = 32, K = 128;
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.2;
  const w = Float32Array.from({ length: N * K }, rnd);
  for (const sym of [false, true]) {
    for (const bits of [4, 8]) {
      const gq = quantizeGroups(w, N, K, { bits, groupSize: 32, sym });
      const u = unpackCt(packCt({ ...gq, bits, sym }), bits, sym);
      const got = dequantShifted(u.q, u.zero, u.scale, N, K, u.groupSize);
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(dequantizeGroups(gq).buffer), `bits=${bits} sym=${sym}`);
    }
  }
});

test("ct float-quantized FP8: row [448, −224, 1, 0.5] has scale 1 and codes 0x7E 0xF6 0x38 0x30 (formats.md §5.5/§6)", () => {
  const f = quantizeFp8Channel(Float32Array.from([448, -224, 1, 0.5, 2, 4, 8, 16]), 2, 4, "BF16");
  assert.deepEqual([...f.weight.subarray(0, 4)], [0x7e, 0xf6, 0x38, 0x30]);
  assert.equal(f.scale[0], 1);
  // row 2: absmax 16 → scale 16/448 = 1/28, rounded to bf16 (0.035644…); 16/scale clamps to 448 = 0x7E
  assert.equal(f.scale[1], toF32(fromF32(Float32Array.from([16 / 448]), "BF16"), "BF16")[0]);
  assert.equal(f.weight[7], 0x7e);
  const back = dequantizeFp8Channel(f.weight, f.scale, 2, 4);
  assert.deepEqual([...back.subarray(0, 4)], [448, -224, 1, 0.5]);
});
