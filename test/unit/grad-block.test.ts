// Finite-difference gradient checks of the training block (src/nn/train): Llama and Mixtral decoder layers on
// tiny shapes. Oracle: central differences of L = Σ c ⊙ block(x) computed by the forward alone.

import { test } from "node:test";
import assert from "node:assert/strict";
import { block_backward, block_forward, type BlockDims, type BlockWeights } from "../../src/nn/train/block.js";
import type { MlpWeights } from "../../src/nn/train/mlp.js";
import { rng } from "../helpers/random.js";

const rand = (r: () => number, n: number, s = 1) => Float32Array.from({ length: n }, () => r() * 2 * s);

function mlp(r: () => number, D: number, F: number): MlpWeights {
  return { gate: rand(r, F * D, 0.5), up: rand(r, F * D, 0.5), down: rand(r, D * F, 0.5) };
}

async function loss(x: Float32Array, w: BlockWeights, d: BlockDims, c: Float32Array): Promise<number> {
  const { y } = await block_forward(x, w, d);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i]! * c[i]!;
  return s;
}

/** Checks `grad` against central differences at `n` coordinates of `param` (mutated and restored). */
async function fdCheck(label: string, param: Float32Array, grad: Float32Array, f: () => Promise<number>, r: () => number, n = 6): Promise<void> {
  const eps = 1e-2;
  for (let j = 0; j < n; j++) {
    const i = Math.floor((r() + 0.5) * param.length) % param.length;
    const v = param[i]!;
    param[i] = v + eps;
    const lp = await f();
    param[i] = v - eps;
    const lm = await f();
    param[i] = v;
    const fd = (lp - lm) / (2 * eps);
    const g = grad[i]!;
    const tol = 2e-2 * Math.max(1, Math.abs(fd));
    assert.ok(Math.abs(fd - g) < tol, `${label}[${i}]: analytic ${g} vs finite difference ${fd}`);
  }
}

async function checkBlock(w: BlockWeights, d: BlockDims, seed: number): Promise<void> {
  const r = rng(seed);
  const x = rand(r, d.T * d.D);
  const c = rand(r, d.T * d.D);
  const { cache } = await block_forward(x, w, d);
  const g = await block_backward(c, cache, w, d, true);
  const f = () => loss(x, w, d, c);
  await fdCheck("dx", x, g.dx!, f, r, 10);
  for (const k of ["q", "k", "v", "o"] as const) await fdCheck(k, w[k], g[k], f, r);
  await fdCheck("inputNorm", w.inputNorm, g.inputNorm!, f, r);
  await fdCheck("postNorm", w.postNorm, g.postNorm, f, r);
  if (w.mlp) for (const k of ["gate", "up", "down"] as const) await fdCheck(`mlp.${k}`, w.mlp[k], g.mlp![k], f, r);
  if (w.experts) {
    let checked = 0;
    for (let e = 0; e < w.experts.length; e++) {
      const ge = g.experts![e];
      if (!ge) continue;
      checked++;
      for (const k of ["gate", "up", "down"] as const) await fdCheck(`experts.${e}.${k}`, w.experts[e]![k], ge[k], f, r, 3);
    }
    assert.ok(checked >= 2, "at least two experts received tokens");
  }
}

test("llama block backward matches finite differences (GQA 4/2 heads, T=6)", async () => {
  const r = rng(11);
  const d: BlockDims = { T: 6, D: 12, H: 4, KH: 2, Dh: 4, F: 10, eps: 1e-5, theta: 10000 };
  const w: BlockWeights = {
    inputNorm: Float32Array.from({ length: d.D }, () => 1 + r()),
    postNorm: Float32Array.from({ length: d.D }, () => 1 + r()),
    q: rand(r, d.H * d.Dh * d.D, 0.6), k: rand(r, d.KH * d.Dh * d.D, 0.6), v: rand(r, d.KH * d.Dh * d.D, 0.6), o: rand(r, d.D * d.H * d.Dh, 0.6),
    mlp: mlp(r, d.D, d.F),
  };
  await checkBlock(w, d, 12);
});

test("mixtral block backward matches finite differences (4 experts, top-2, routing path included)", async () => {
  const r = rng(21);
  const d: BlockDims = { T: 7, D: 8, H: 2, KH: 1, Dh: 4, F: 6, eps: 1e-5, theta: 10000, topK: 2 };
  const w: BlockWeights = {
    inputNorm: Float32Array.from({ length: d.D }, () => 1 + r()),
    postNorm: Float32Array.from({ length: d.D }, () => 1 + r()),
    q: rand(r, d.H * d.Dh * d.D, 0.6), k: rand(r, d.KH * d.Dh * d.D, 0.6), v: rand(r, d.KH * d.Dh * d.D, 0.6), o: rand(r, d.D * d.H * d.Dh, 0.6),
    router: rand(r, 4 * d.D, 1),
    experts: [mlp(r, d.D, d.F), mlp(r, d.D, d.F), mlp(r, d.D, d.F), mlp(r, d.D, d.F)],
  };
  await checkBlock(w, d, 22);
});
