// Per-token activation fake-quant: an 8-bit round trip stays within half a step; the backward matches central
// differences of the frozen STE surrogate (δ = round(u) − u, zero point and clamp mask held at the current point).

import { test } from "node:test";
import assert from "node:assert/strict";
import { actquant_backward, actquant_forward } from "../../src/nn/train/act-quant.js";
import { roundHalfEven } from "../../src/passes/rtn/quantize.js";
import { rng } from "../helpers/random.js";

test("8-bit per-token fake-quant error ≤ half a step per row", () => {
  const r = rng(3);
  const T = 5, C = 40;
  const x = Float32Array.from({ length: T * C }, () => r() * 4);
  const { out } = actquant_forward(x, T, C, 8);
  for (let t = 0; t < T; t++) {
    const row = Array.from(x.subarray(t * C, t * C + C));
    const step = (Math.max(...row) - Math.min(...row)) / 255;
    for (let i = 0; i < C; i++) assert.ok(Math.abs(out[t * C + i]! - x[t * C + i]!) <= step / 2 + 1e-6);
  }
});

test("activation fake-quant backward matches FD of the frozen surrogate (4 bits)", () => {
  const r = rng(9);
  const T = 4, C = 12, bits = 4, qmax = 15;
  const x = Float32Array.from({ length: T * C }, () => r() * 2);
  const c = Float64Array.from({ length: T * C }, () => r());
  const { cache } = actquant_forward(x, T, C, bits);
  const dx = actquant_backward(Float32Array.from(c), cache);
  for (let t = 0; t < T; t++) {
    const row = Array.from(x.subarray(t * C, t * C + C));
    const h0 = (Math.max(...row) - Math.min(...row)) / qmax;
    const z = roundHalfEven(-Math.min(...row) / h0);
    const delta = row.map((v) => roundHalfEven(v / h0) - v / h0);
    const codes = row.map((v) => roundHalfEven(v / h0) + z);
    const f = (xs: number[]) => {
      const h = (Math.max(...xs) - Math.min(...xs)) / qmax;
      let L = 0;
      xs.forEach((v, i) => {
        const q = codes[i]! >= 0 && codes[i]! <= qmax ? v / h + delta[i]! + z : codes[i]! < 0 ? 0 : qmax;
        L += c[t * C + i]! * (q - z) * h;
      });
      return L;
    };
    for (let i = 0; i < C; i++) {
      const e = 1e-5;
      const xp = row.slice(); xp[i] = row[i]! + e;
      const xm = row.slice(); xm[i] = row[i]! - e;
      const fd = (f(xp) - f(xm)) / (2 * e);
      assert.ok(Math.abs(fd - dx[t * C + i]!) < 1e-3 * Math.max(1, Math.abs(fd)), `row ${t} col ${i}: ${dx[t * C + i]} vs fd ${fd}`);
    }
  }
});
