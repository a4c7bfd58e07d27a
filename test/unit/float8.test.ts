// float8 E4M3FN / E5M2 codecs against the OCP bit tables (formats.md §6): every decode code, hand-picked
// encodes (subnormals, max normal, ties, NaN/Inf, saturation) and a brute-force nearest-value encode oracle.

import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeFloat8, decodeFloat8Array, encodeFloat8, encodeFloat8Array, float8Max, type Float8Format } from "../../src/runtime/float8.js";

/** Decode straight from the format definition: sign, exponent field, mantissa field, bias. */
function oracleDecode(code: number, fmt: Float8Format): number {
  const [E, M, bias] = fmt === "e4m3" ? [4, 3, 7] : [5, 2, 15];
  const sign = code >> 7 ? -1 : 1;
  const exp = (code >> M) & ((1 << E) - 1);
  const man = code & ((1 << M) - 1);
  if (fmt === "e4m3" && exp === 15 && man === 7) return NaN; // S.1111.111 only
  if (fmt === "e5m2" && exp === 31) return man === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * Math.pow(2, 1 - bias) * (man / Math.pow(2, M));
  return sign * Math.pow(2, exp - bias) * (1 + man / Math.pow(2, M));
}

for (const fmt of ["e4m3", "e5m2"] as const) {
  test(`${fmt}: decode of all 256 codes matches the format definition`, () => {
    for (let c = 0; c < 256; c++) {
      const want = oracleDecode(c, fmt);
      const got = decodeFloat8(c, fmt);
      if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `code 0x${c.toString(16)}: expected NaN, got ${got}`);
      else assert.equal(Object.is(got, want) || got === want, true, `code 0x${c.toString(16)}: expected ${want}, got ${got}`);
    }
  });

  test(`${fmt}: encode(decode(c)) == c for every finite code (−0 included)`, () => {
    for (let c = 0; c < 256; c++) {
      const v = oracleDecode(c, fmt);
      if (!Number.isFinite(v)) continue;
      assert.equal(encodeFloat8(v, fmt), c, `value ${v} (code 0x${c.toString(16)})`);
    }
  });

  test(`${fmt}: encode = brute-force nearest finite value, ties to even code, saturating`, () => {
    const finite: { c: number; v: number }[] = [];
    for (let c = 0; c < 128; c++) if (Number.isFinite(oracleDecode(c, fmt))) finite.push({ c, v: oracleDecode(c, fmt) });
    const oracle = (x: number): number => {
      const a = Math.abs(x);
      let best = finite[0]!;
      for (const f of finite) {
        const d = Math.abs(a - f.v) - Math.abs(a - best.v);
        if (d < 0 || (d === 0 && (f.c & 1) === 0 && (best.c & 1) === 1)) best = f;
      }
      return (x < 0 || Object.is(x, -0) ? 0x80 : 0) | best.c;
    };
    // every midpoint between neighbours (exact ties), points just beside them, and random magnitudes
    const xs: number[] = [];
    for (let i = 0; i + 1 < finite.length; i++) {
      const mid = Math.fround((finite[i]!.v + finite[i + 1]!.v) / 2);
      xs.push(mid, Math.fround(mid * (1 + 2 ** -20)), Math.fround(mid * (1 - 2 ** -20)));
    }
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const lo = fmt === "e4m3" ? -12 : -19, hi = fmt === "e4m3" ? 10 : 17;
    for (let i = 0; i < 4000; i++) xs.push(Math.fround((rnd() < 0.5 ? -1 : 1) * 2 ** (lo + (hi - lo) * rnd())));
    const arr = Float32Array.from(xs);
    const bulk = encodeFloat8Array(arr, fmt);
    for (let i = 0; i < arr.length; i++) {
      const x = arr[i]!;
      const want = oracle(x);
      assert.equal(encodeFloat8(x, fmt), want, `x=${x}`);
      assert.equal(bulk[i], want, `bulk x=${x}`);
    }
  });
}

test("e4m3: hand-picked values from the spec table", () => {
  const cases: [number, number][] = [
    [0, 0x00], [-0, 0x80], [1, 0x38], [-1, 0xb8], [448, 0x7e], [-448, 0xfe],
    [2 ** -6, 0x08], [2 ** -9, 0x01], [7 * 2 ** -9, 0x07], // min normal, min subnormal, max subnormal
    [1.0625, 0x38], [1.1875, 0x3a], // ties between 1|1.125 → 1 (even), 1.125|1.25 → 1.25 (even)
    [2 ** -10, 0x00], [3 * 2 ** -10, 0x02], [2 ** -10 * 1.0001, 0x01], // subnormal ties and just-above
    [15 * 2 ** -10, 0x08], // tie between max subnormal (7·2^-9) and min normal (8·2^-9) → 8 (even)
    [464, 0x7e], [479.9, 0x7e], [480, 0x7e], [1e6, 0x7e], [Infinity, 0x7e], [-Infinity, 0xfe], // saturation
  ];
  for (const [x, c] of cases) assert.equal(encodeFloat8(x, "e4m3"), c, `encode(${x})`);
  assert.equal(encodeFloat8(NaN, "e4m3") & 0x7f, 0x7f);
  assert.equal(float8Max("e4m3"), 448);
  // non-saturating (torch/ml_dtypes semantics): overflow and Inf → NaN
  assert.equal(encodeFloat8(480, "e4m3", false), 0x7f);
  assert.equal(encodeFloat8(-Infinity, "e4m3", false), 0xff);
  assert.equal(encodeFloat8(448, "e4m3", false), 0x7e);
});

test("e5m2: hand-picked values from the spec table", () => {
  const cases: [number, number][] = [
    [0, 0x00], [1, 0x3c], [-2, 0xc0], [57344, 0x7b], [2 ** -14, 0x04], [2 ** -16, 0x01], [3 * 2 ** -16, 0x03],
    [1.125, 0x3c], [1.375, 0x3e], // ties: 1|1.25 → 1 (even), 1.25|1.5 → 1.5 (even)
    [2 ** -17, 0x00], [3 * 2 ** -17, 0x02],
    [61440, 0x7b], [1e9, 0x7b], [Infinity, 0x7b], [-Infinity, 0xfb],
  ];
  for (const [x, c] of cases) assert.equal(encodeFloat8(x, "e5m2"), c, `encode(${x})`);
  const nan = encodeFloat8(NaN, "e5m2");
  assert.ok((nan & 0x7c) === 0x7c && (nan & 0x03) !== 0, `NaN code 0x${nan.toString(16)}`);
  assert.equal(float8Max("e5m2"), 57344);
  assert.equal(encodeFloat8(Infinity, "e5m2", false), 0x7c);
  assert.equal(encodeFloat8(-65536, "e5m2", false), 0xfc);
  assert.equal(decodeFloat8(0x7c, "e5m2"), Infinity);
});

test("bulk encode/decode with a scale divides then multiplies", () => {
  const x = Float32Array.from([0.5, -3, 200, 1e-3]);
  const codes = encodeFloat8Array(x, "e4m3", 0.25);
  const back = decodeFloat8Array(codes, "e4m3", 0.25);
  for (let i = 0; i < x.length; i++) {
    const want = decodeFloat8(encodeFloat8(x[i]! / 0.25, "e4m3"), "e4m3") * 0.25;
    assert.equal(back[i], Math.fround(want));
  }
  assert.equal(back[2], 448 * 0.25); // 800 saturates to 448 before rescaling
});
