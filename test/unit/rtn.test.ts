// RTN quantizer against hand-worked groups (formula from ../shared/fixtures/README.md), not against its own output.

import { test } from "node:test";
import assert from "node:assert/strict";
import { dequantizeGroups, quantizeGroups, roundHalfEven } from "../../src/passes/rtn/quantize.js";

test("round half to even, like torch.round", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, -0, -2, 2, 3]);
});

test("2-bit asymmetric group: scale (max−min)/3, zero round(−min/scale), ties to even", () => {
  // max 2, min −1 → scale 1, zero 1; w/scale = [−1, 0, 0.5, 2] → round → [−1, 0, 0, 2] → +1 → [0, 1, 1, 3]
  const g = quantizeGroups(Float32Array.from([-1, 0, 0.5, 2]), 1, 4, { bits: 2, groupSize: 4, sym: false });
  assert.deepEqual([...g.q], [0, 1, 1, 3]);
  assert.deepEqual([...g.scale], [1]);
  assert.deepEqual([...g.zero], [1]);
  assert.deepEqual([...dequantizeGroups(g)], [-1, 0, 0, 2]);
});

test("4-bit, two groups per row, clamping and per-group parameters", () => {
  // group 0: [0, 1.5, 3, 0.75]: min 0 max 3 → scale 0.2, zero 0 → q = [0, 7.5→8, 15, 3.75→4]
  // group 1: [-3, -1, -2, -0.1]: min -3 max -0.1 → scale 2.9/15 = 0.19333…, zero round(15.517…) = 16 → clamp to 15 range
  const w = Float32Array.from([0, 1.5, 3, 0.75, -3, -1, -2, -0.1]);
  const g = quantizeGroups(w, 1, 8, { bits: 4, groupSize: 4, sym: false });
  assert.deepEqual([...g.q.subarray(0, 4)], [0, 8, 15, 4]);
  assert.equal(g.zero[1], 16);
  const s = Math.fround(Math.fround(2.9) / 15);
  assert.ok(Math.abs(g.scale[1]! - s) < 1e-7);
  // −3/s + 16 = 0.48… → 0; −1/s + 16 = 10.8 → 11; −2/s + 16 = 5.65 → 6; −0.1/s + 16 = 15.48 → 15
  assert.deepEqual([...g.q.subarray(4)], [0, 11, 6, 15]);
});

test("symmetric: scale absmax/(2^(B−1)−1), zero 2^(B−1)−1", () => {
  const g = quantizeGroups(Float32Array.from([-7, 3.5, 1, 0]), 1, 4, { bits: 4, groupSize: -1, sym: true });
  assert.deepEqual([...g.scale], [1]);
  assert.deepEqual([...g.zero], [7]);
  assert.deepEqual([...g.q], [0, 11, 8, 7]);
});
