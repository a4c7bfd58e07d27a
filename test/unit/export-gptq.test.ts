// GPTQ packing against hand-worked words from formats.md §2.2 (element j of a word at bits 4j..4j+3;
// v1 qzeros = zero−1, so symmetric int4 ⇒ 0x77777777) and a pack → unpack → dequant round trip.

import { test } from "node:test";
import assert from "node:assert/strict";
import { packGptq, unpackGptq } from "../../src/export/hf/gptq.js";
import { dequantShifted, Unrepresentable, type QuantLinear } from "../../src/export/hf/qlinear.js";
import { dequantizeGroups, quantizeGroups } from "../../src/passes/rtn/quantize.js";

const u32 = (x: number) => x >>> 0;

/** 8×8 weight, one group of 8: q[n][k] = (n + k) mod 16. */
function example(sym: boolean, zero: number): QuantLinear {
  const N = 8, K = 8;
  const q = new Uint8Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) q[n * K + k] = (n + k) % 16;
  const scale = Float32Array.from({ length: N }, (_, n) => 0.5 + n / 4);
  return { rows: N, cols: K, groupSize: K, bits: 4, sym, q, scale, zero: new Float32Array(N).fill(zero) };
}

test("GPTQ v2 asymmetric: qweight packs along K, low nibble = k 0; qzeros packs along N", () => {
  const t = packGptq(example(false, 3), "gptq_v2");
  assert.equal(t.qweight.length, 8); // [K/8=1, N=8]
  assert.equal(u32(t.qweight[0]!), 0x76543210); // n = 0: q[0][k] = k
  assert.equal(u32(t.qweight[1]!), 0x87654321); // n = 1: q = k + 1
  assert.equal(t.qweight[1], -2023406815); // the same word read as int32
  assert.equal(u32(t.qweight[7]!), 0xedcba987);
  assert.equal(u32(t.qzeros[0]!), 0x33333333); // [G=1, N/8=1], real zero 3
  assert.deepEqual([...t.gIdx], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(t.scales[3], 0.5 + 3 / 4); // [G, N]
});

test("GPTQ v1 asymmetric stores zero−1", () => {
  const t = packGptq(example(false, 3), "gptq");
  assert.equal(u32(t.qzeros[0]!), 0x22222222);
  assert.equal(u32(t.qweight[0]!), 0x76543210);
});

test("GPTQ symmetric: memc's zero 7 becomes 8 (codes +1), v1 qzeros = 0x77777777 = 2004318071", () => {
  const ex = example(true, 7);
  for (let i = 0; i < ex.q.length; i++) ex.q[i] = Math.min(ex.q[i]!, 14); // a symmetric quantizer never emits 15
  const t = packGptq(ex, "gptq");
  assert.equal(t.qzeros[0], 2004318071);
  assert.equal(u32(t.qweight[0]!), 0x87654321); // q + 1
  assert.equal(u32(packGptq(ex, "gptq_v2").qzeros[0]!), 0x88888888);
});

test("GPTQ v1 cannot hold zero 0 unless every code of the group can move up by one", () => {
  const ex = example(false, 0);
  ex.q[0] = 15; // row 0 now uses code 15: no room to move up
  assert.throws(() => packGptq(ex, "gptq"), Unrepresentable);
  ex.q[0] = 0; // codes 0..14 only: shift by one, zero 1
  const t = packGptq(ex, "gptq");
  assert.equal(u32(t.qzeros[0]!), 0x00000000); // shifted zero 1, stored 0
  assert.equal(u32(t.qweight[0]!), 0x87654321);
  assert.equal(u32(packGptq(ex, "gptq_v2").qzeros[0]!), 0);
});

test("GPTQ 8-bit packs four codes per word", () => {
  const N = 4, K = 4;
  const q = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]); // [N, K]
  const ql: QuantLinear = { rows: N, cols: K, groupSize: K, bits: 8, sym: false, q, scale: new Float32Array(N).fill(1), zero: new Float32Array(N).fill(128) };
  const t = packGptq(ql, "gptq_v2");
  assert.deepEqual([...t.qweight].map(u32), [0x04030201, 0x08070605, 0x0c0b0a09, 0x100f0e0d]); // [1, N]
  assert.equal(u32(t.qzeros[0]!), 0x80808080);
  assert.equal(u32(packGptq(ql, "gptq").qzeros[0]!), 0x7f7f7f7f);
});

test("GPTQ pack → unpack reproduces RTN's fake-quant weights bit for bit (v1 and v2, sym and asym)", () => {
  const N = 64, K = 256;
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.2;
  const w = Float32Array.from({ length: N * K }, rnd);
  for (const sym of [false, true]) {
    for (const fmt of ["gptq", "gptq_v2"] as const) {
      const gq = quantizeGroups(w, N, K, { bits: 4, groupSize: 64, sym });
      const ql: QuantLinear = { ...gq, bits: 4, sym };
      const want = dequantizeGroups(gq);
      const u = unpackGptq(packGptq(ql, fmt), N, K, 4, fmt);
      assert.equal(u.groupSize, 64);
      const got = dequantShifted(u.q, u.zero, u.scale, N, K, u.groupSize);
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer), `${fmt} sym=${sym}`);
    }
  }
});

test("GPTQ 2-bit and 8-bit: pack → unpack reproduces RTN's fake-quant weights bit for bit", () => {
  const N = 32, K = 128;
  let seed = 5;
  const w = Float32Array.from({ length: N * K }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.2);
  for (const bits of [2, 8]) {
    for (const sym of [false, true]) {
      for (const fmt of ["gptq", "gptq_v2"] as const) {
        const gq = quantizeGroups(w, N, K, { bits, groupSize: 64, sym });
        const t = packGptq({ ...gq, bits, sym }, fmt);
        assert.equal(t.qweight.length, ((K * bits) / 32) * N);
        const u = unpackGptq(t, N, K, bits, fmt);
        const got = dequantShifted(u.q, u.zero, u.scale, N, K, u.groupSize);
        assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(dequantizeGroups(gq).buffer), `bits=${bits} sym=${sym} ${fmt}`);
      }
    }
  }
});
