// LWC quantizer checks: clip factors of exactly 1 reproduce RTN; gradients to γ, β against a hand-computed case and
// against central differences of the "frozen" surrogate Ŵ(h) = (clamp(W/h + δ + z, 0, qmax) − z)·h with δ = round(u)−u
// and z held at their current values, and the clamp's pass-through mask frozen at the current point (torch's clamp passes
// the gradient where lo ≤ t ≤ hi, t = round(u)+z an integer that often sits exactly on a bound) — the function whose
// derivative torch autograd returns for round_ste / .round() / clamp.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Lwc } from "../../src/passes/omniquant/lwc.js";
import { AdamW } from "../../src/passes/omniquant/adamw.js";
import { dequantizeGroups, quantizeGroups, roundHalfEven, type QuantSpec } from "../../src/passes/rtn/quantize.js";
import { rng } from "../helpers/random.js";

test("LWC with σ(γ)=σ(β)=1 equals RTN bit for bit (asym and sym)", () => {
  const r = rng(1);
  const w = Float32Array.from({ length: 16 * 64 }, () => r() * 0.2);
  for (const sym of [false, true]) {
    const spec: QuantSpec = { bits: 3, groupSize: 16, sym };
    const lwc = new Lwc("t", 16, 64, spec, 60); // sigmoid(60) rounds to 1 in fp32
    assert.deepEqual(lwc.forward(w), dequantizeGroups(quantizeGroups(w, 16, 64, spec)));
  }
});

test("LWC gradient: hand-computed 2-bit group", () => {
  // w = [−0.9, −0.2, 0.4, 1.0], γ = β = 0 → σ = ½: xmax' = 0.5, xmin' = −0.45, h = 0.95/3, z = round(1.421) = 1,
  // u = w/h = [−2.842, −0.632, 1.263, 3.158], t = round(u)+z = [−2, 0, 2, 4] → elements 1, 2 in range (t = 0 counts).
  // L = ΣŴ: dh = (0−1) + (−1+0.632) + (1−1.263) + (3−1) = 0.368421; dγ = dh/3·1.0·¼, dβ = −dh/3·(−0.9)·¼.
  const lwc = new Lwc("hand", 1, 4, { bits: 2, groupSize: 4, sym: false }, 0);
  const w = Float32Array.from([-0.9, -0.2, 0.4, 1.0]);
  const h = Math.fround(Math.fround(0.5 - Math.fround(-0.9 * 0.5)) / 3);
  assert.deepEqual(Array.from(lwc.forward(w)), [-h, -h, h, 2 * h].map(Math.fround));
  const dg = new Float32Array(1);
  const db = new Float32Array(1);
  lwc.backward(w, new Float32Array(4).fill(1), dg, db);
  const dh = 0.368421;
  assert.ok(Math.abs(dg[0]! - (dh / 3) * 0.25) < 1e-5, `dγ ${dg[0]} vs ${(dh / 3) * 0.25}`);
  assert.ok(Math.abs(db[0]! - (-dh / 3) * -0.9 * 0.25) < 1e-5, `dβ ${db[0]} vs ${(-dh / 3) * -0.9 * 0.25}`);
});

/** Frozen surrogate in float64 for one group: δ_i and z fixed, h a smooth function of (γ, β). */
function surrogate(w: number[], c: number[], gamma: number, beta: number, bits: number, sym: boolean, delta: number[], z: number): number {
  const s = (x: number) => 1 / (1 + Math.exp(-x));
  const mx = Math.max(...w) * s(gamma);
  const mn = Math.min(...w) * s(beta);
  const qmax = 2 ** bits - 1;
  const h = sym ? Math.max(Math.abs(mx), Math.abs(mn)) / (2 ** (bits - 1) - 1) : (mx - mn) / qmax;
  let L = 0;
  for (let i = 0; i < w.length; i++) {
    const t0 = Math.round(w[i]! / h + delta[i]! + z); // the integer code at the frozen point (δ makes u+δ integral)
    const t = t0 >= 0 && t0 <= qmax ? w[i]! / h + delta[i]! + z : t0 < 0 ? 0 : qmax;
    L += c[i]! * ((t - z) * h);
  }
  return L;
}

test("LWC gradient matches finite differences of the frozen STE surrogate (asym and sym, 3 bits, many groups)", () => {
  const r = rng(7);
  for (const sym of [false, true]) {
    const rows = 6, cols = 32, g = 8, bits = 3;
    const spec: QuantSpec = { bits, groupSize: g, sym };
    const lwc = new Lwc("fd", rows, cols, spec);
    for (let k = 0; k < lwc.gamma.length; k++) { lwc.gamma[k] = 1 + 2 * r(); lwc.beta[k] = 1 + 2 * r(); }
    const w = Float32Array.from({ length: rows * cols }, () => r());
    const c = Float64Array.from({ length: rows * cols }, () => r());
    const dg = new Float32Array(lwc.gamma.length);
    const db = new Float32Array(lwc.beta.length);
    lwc.backward(w, Float32Array.from(c), dg, db);
    const wq = lwc.forward(w);
    for (let k = 0; k < lwc.gamma.length; k++) {
      const ws = Array.from(w.subarray(k * g, k * g + g));
      const cs = Array.from(c.subarray(k * g, k * g + g));
      // recover the frozen δ and z from the forward (Ŵ/h + z = clamp(round(u)+z)), in float64
      const s = (x: number) => 1 / (1 + Math.exp(-x));
      const mx = Math.max(...ws) * s(lwc.gamma[k]!), mn = Math.min(...ws) * s(lwc.beta[k]!);
      const h = sym ? Math.max(Math.abs(mx), Math.abs(mn)) / (2 ** (bits - 1) - 1) : (mx - mn) / (2 ** bits - 1);
      const z = sym ? 2 ** (bits - 1) - 1 : roundHalfEven(-mn / h);
      const delta = ws.map((x) => roundHalfEven(x / h) - x / h);
      for (let i = 0; i < g; i++) assert.ok(Math.abs(wq[k * g + i]! - (Math.min(Math.max(roundHalfEven(ws[i]! / h) + z, 0), 2 ** bits - 1) - z) * h) < 1e-5);
      const e = 1e-4;
      const fdG = (surrogate(ws, cs, lwc.gamma[k]! + e, lwc.beta[k]!, bits, sym, delta, z) - surrogate(ws, cs, lwc.gamma[k]! - e, lwc.beta[k]!, bits, sym, delta, z)) / (2 * e);
      const fdB = (surrogate(ws, cs, lwc.gamma[k]!, lwc.beta[k]! + e, bits, sym, delta, z) - surrogate(ws, cs, lwc.gamma[k]!, lwc.beta[k]! - e, bits, sym, delta, z)) / (2 * e);
      assert.ok(Math.abs(fdG - dg[k]!) < 1e-3 * Math.max(1, Math.abs(fdG)), `sym=${sym} group ${k}: dγ ${dg[k]} vs fd ${fdG}`);
      assert.ok(Math.abs(fdB - db[k]!) < 1e-3 * Math.max(1, Math.abs(fdB)), `sym=${sym} group ${k}: dβ ${db[k]} vs fd ${fdB}`);
    }
  }
});

test("AdamW matches torch.optim.AdamW's first two steps (hand-computed)", () => {
  // step 1: m = 0.1g, v = 0.001g², update = lr·m/(1−0.9) / (√v/√(1−0.999) + eps) = lr·sign(g) (up to eps)
  const p = Float32Array.from([1, -2]);
  const opt = new AdamW([p], 0.01);
  opt.step([Float32Array.from([0.5, -3])]);
  assert.ok(Math.abs(p[0]! - 0.99) < 1e-6 && Math.abs(p[1]! + 1.99) < 1e-6, `after step 1: ${Array.from(p)}`);
  // step 2 with g = [0.5, 1]: m = [0.095, −0.17], v = [0.00049975, 0.009991]; m̂ = m/0.19, v̂ = v/0.001999
  opt.step([Float32Array.from([0.5, 1])]);
  const upd = (m: number, v: number) => (0.01 * (m / 0.19)) / (Math.sqrt(v / 0.001999) + 1e-8);
  assert.ok(Math.abs(p[0]! - (0.99 - upd(0.095, 0.00049975))) < 1e-6, `p0 ${p[0]}`);
  assert.ok(Math.abs(p[1]! - (-1.99 - upd(-0.17, 0.009991))) < 1e-6, `p1 ${p[1]}`);
});

test("AdamW keeps a step count per parameter: one skipped for lack of a gradient starts bias-corrected (torch)", () => {
  // torch.optim.AdamW keeps state['step'] per tensor and skips a tensor whose .grad is None. A Mixtral expert that no
  // token reached in the first windows therefore takes, at its first gradient, the same update as a fresh optimiser:
  // lr·sign(g). With one shared count t it would take lr·0.1/(1−0.9^t)·√((1−0.999^t)/0.001): 0.71·lr at t = 51,
  // 2.9·lr at t = 2000.
  const used = Float32Array.from([0]);
  const skipped = Float32Array.from([1, -1]);
  const opt = new AdamW([used, skipped], 0.01);
  for (let t = 0; t < 50; t++) opt.step([Float32Array.from([0.3]), undefined]);
  assert.deepEqual(Array.from(skipped), [1, -1], "a parameter without a gradient must not move");
  opt.step([Float32Array.from([0.3]), Float32Array.from([2, -0.25])]);
  assert.ok(Math.abs(skipped[0]! - 0.99) < 1e-6 && Math.abs(skipped[1]! + 0.99) < 1e-6, `first update ${Array.from(skipped)}`);
});
