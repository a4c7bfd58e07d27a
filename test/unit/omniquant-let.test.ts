// LET (src/passes/omniquant/let.ts, let-step.ts) and the LWC input gradient it needs:
//  - finite differences of every LET parameter's gradient through the transformed weights and norms (quantizers off,
//    so the block is smooth; GQA 4/2 heads so the repeated v→o and q/k scales are exercised);
//  - Lwc.inputGrad against central differences of the frozen surrogate (rounding residuals, zero point and clamp mask
//    held, the group max/min still moving h: the function whose derivative torch autograd returns);
//  - the LET gradient through LWC + activation quantizers equals the chain of the pieces (layerGrads wiring);
//  - folding: with quantizers off the transformed block computes the same function as the original (q/k scales
//    shared by each rotate-half pair, where RoPE makes the transformation exact), and SmoothQuant init values.

import { test } from "node:test";
import assert from "node:assert/strict";
import { block_backward, block_forward, type BlockDims, type BlockWeights } from "../../src/nn/train/block.js";
import { initLet, letBackward, letTransform, truncateLet, LET_KEYS, type LetParams } from "../../src/passes/omniquant/let.js";
import { layerGrads, quantizeBlock } from "../../src/passes/omniquant/let-step.js";
import { Lwc, sigmoid32 } from "../../src/passes/omniquant/lwc.js";
import type { LinearSlot } from "../../src/passes/omniquant/block-weights.js";
import { roundHalfEven } from "../../src/passes/rtn/quantize.js";
import { rng } from "../helpers/random.js";

const rand = (r: () => number, n: number, s = 1) => Float32Array.from({ length: n }, () => r() * 2 * s);
const dims: BlockDims = { T: 6, D: 16, H: 4, KH: 2, Dh: 4, F: 24, eps: 1e-5, theta: 10000 };

function tinyBlock(r: () => number): BlockWeights {
  const { D, H, KH, Dh, F } = dims;
  return {
    inputNorm: Float32Array.from({ length: D }, () => 1 + r()), postNorm: Float32Array.from({ length: D }, () => 1 + r()),
    q: rand(r, H * Dh * D, 0.5), k: rand(r, KH * Dh * D, 0.5), v: rand(r, KH * Dh * D, 0.5), o: rand(r, D * H * Dh, 0.5),
    mlp: { gate: rand(r, F * D, 0.5), up: rand(r, F * D, 0.5), down: rand(r, D * F, 0.5) },
  };
}

function randomLet(r: () => number): LetParams {
  const s = (n: number) => Float32Array.from({ length: n }, () => 1 + r());
  return { qkv: s(dims.D), fc1: s(dims.D), out: s(dims.KH * dims.Dh), qkt: s(dims.KH * dims.Dh) };
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

test("LET: every parameter's gradient matches central differences through weights and norms (GQA)", async () => {
  const r = rng(11);
  const fp = tinyBlock(r);
  const p = randomLet(r);
  const x = rand(r, dims.T * dims.D);
  const c = rand(r, dims.T * dims.D);
  const f = async () => dot((await block_forward(x, letTransform(fp, p, dims), dims)).y, c);
  const tw = letTransform(fp, p, dims);
  const { cache } = await block_forward(x, tw, dims);
  const g = await block_backward(c, cache, tw, dims, true);
  const grads = letBackward(fp, p, { inputNorm: g.inputNorm!, postNorm: g.postNorm, q: g.q, k: g.k, v: g.v, o: g.o, gate: g.mlp!.gate, up: g.mlp!.up }, dims);
  const eps = 1e-3;
  for (const k of LET_KEYS) {
    for (let i = 0; i < p[k].length; i += 3) {
      const v = p[k][i]!;
      p[k][i] = v + eps;
      const lp = await f();
      p[k][i] = v - eps;
      const lm = await f();
      p[k][i] = v;
      const fd = (lp - lm) / (2 * eps);
      assert.ok(Math.abs(fd - grads[k][i]!) < 2e-2 * Math.max(1, Math.abs(fd)), `${k}[${i}]: analytic ${grads[k][i]} vs finite difference ${fd}`);
    }
  }
});

/** The frozen surrogate of Lwc.forward around w0: δ, z, clamp mask from w0; h recomputed from the current w. */
function surrogate(q: Lwc, w0: Float32Array) {
  const qmax = 2 ** q.spec.bits - 1;
  const frozen: { inRange: boolean; delta: number; code: number; z: number }[] = [];
  const hOf = (w: Float32Array, k: number) => {
    let mx = -Infinity;
    let mn = Infinity;
    for (let i = k * q.g; i < (k + 1) * q.g; i++) { mx = Math.max(mx, w[i]!); mn = Math.min(mn, w[i]!); }
    return (sigmoid32(q.gamma[k]!) * mx - sigmoid32(q.beta[k]!) * mn) / qmax;
  };
  for (let k = 0; k < q.rows * q.groups; k++) {
    const h = hOf(w0, k);
    const z = roundHalfEven(-(sigmoid32(q.beta[k]!) * Math.min(...w0.subarray(k * q.g, (k + 1) * q.g))) / h);
    for (let i = k * q.g; i < (k + 1) * q.g; i++) {
      const u = w0[i]! / h;
      const t = roundHalfEven(u) + z;
      frozen.push({ inRange: t >= 0 && t <= qmax, delta: roundHalfEven(u) - u, code: Math.min(Math.max(t, 0), qmax), z });
    }
  }
  return (w: Float32Array) => {
    const out = new Float64Array(w.length);
    for (let k = 0; k < q.rows * q.groups; k++) {
      const h = hOf(w, k);
      for (let i = k * q.g; i < (k + 1) * q.g; i++) {
        const f = frozen[i]!;
        out[i] = f.inRange ? w[i]! + f.delta * h : (f.code - f.z) * h;
      }
    }
    return out;
  };
}

test("Lwc.inputGrad matches central differences of the frozen surrogate, incl. the group max/min elements", () => {
  const r = rng(5);
  for (const bits of [2, 3, 4]) {
    const rows = 6;
    const cols = 16;
    const q = new Lwc("w", rows, cols, { bits, groupSize: 8, sym: false });
    for (let i = 0; i < q.gamma.length; i++) { q.gamma[i] = 1 + 4 * r(); q.beta[i] = 1 + 4 * r(); }
    const w = rand(r, rows * cols);
    const dwq = rand(r, rows * cols);
    q.forward(w);
    const dw = q.inputGrad(w, dwq);
    const s = surrogate(q, w);
    const eps = 1e-4;
    for (let i = 0; i < w.length; i++) {
      const w64 = Float32Array.from(w);
      const v = w[i]!;
      w64[i] = v + eps;
      const lp = s(w64).reduce((a, y, j) => a + y * dwq[j]!, 0);
      w64[i] = v - eps;
      const lm = s(w64).reduce((a, y, j) => a + y * dwq[j]!, 0);
      const fd = (lp - lm) / (Math.fround(v + eps) - Math.fround(v - eps));
      assert.ok(Math.abs(fd - dw[i]!) < 2e-3 * Math.max(1, Math.abs(fd)), `bits ${bits} w[${i}]: analytic ${dw[i]} vs finite difference ${fd}`);
    }
  }
});

function slotsOf(): LinearSlot[] {
  const { D, H, KH, Dh, F } = dims;
  const mk = (module: string, rows: number, cols: number, key: "q" | "k" | "v" | "o" | "gate" | "up" | "down"): LinearSlot => {
    const mlpKey = key === "gate" || key === "up" || key === "down";
    return {
      module, rows, cols,
      get: (w) => (mlpKey ? w.mlp![key] : w[key as "q"]),
      set: (w, v) => { if (mlpKey) w.mlp![key] = v; else w[key as "q"] = v; },
      grad: (g) => (mlpKey ? g.mlp?.[key] : g[key as "q"]),
    };
  };
  return [mk("q", H * Dh, D, "q"), mk("k", KH * Dh, D, "k"), mk("v", KH * Dh, D, "v"), mk("o", D, H * Dh, "o"), mk("gate", F, D, "gate"), mk("up", F, D, "up"), mk("down", D, F, "down")];
}

test("layerGrads: LET gradient through LWC and activation quantizers = letBackward ∘ Lwc.inputGrad ∘ block_backward", async () => {
  const r = rng(8);
  const fp = tinyBlock(r);
  const p = randomLet(r);
  const slots = slotsOf();
  const lwcs = slots.map((s) => new Lwc(s.module, s.rows, s.cols, { bits: 4, groupSize: 8, sym: false }));
  const qd = { ...dims, abits: 4 };
  const x = rand(r, dims.T * dims.D);
  const dy = rand(r, dims.T * dims.D);
  const b = quantizeBlock(fp, slots, lwcs, dims, p);
  const { cache } = await block_forward(x, b.qw, qd);
  const g = await block_backward(dy, cache, b.qw, qd, true);
  const got = layerGrads(g, b, fp, slots, lwcs, dims, p);
  const dW = slots.map((s, i) => lwcs[i]!.inputGrad(s.get(b.tw), s.grad(g)!));
  const want = letBackward(fp, p, { inputNorm: g.inputNorm!, postNorm: g.postNorm, q: dW[0]!, k: dW[1]!, v: dW[2]!, o: dW[3]!, gate: dW[4]!, up: dW[5]! }, dims);
  for (const k of LET_KEYS) assert.deepEqual(got.let![k], want[k], k);
  // the quantizers matter: the input grads differ from the plain STE (dŴ passed through unchanged)
  const plain = letBackward(fp, p, { inputNorm: g.inputNorm!, postNorm: g.postNorm, q: g.q, k: g.k, v: g.v, o: g.o, gate: g.mlp!.gate, up: g.mlp!.up }, dims);
  assert.notDeepEqual(got.let!.qkv, plain.qkv);
  assert.equal(got.lwc.length, 2 * slots.length);
});

test("LET folding: with quantizers off the transformed block equals the original (rotate-half pairs share q/k scales)", async () => {
  const r = rng(3);
  const fp = tinyBlock(r);
  const p = randomLet(r);
  const half = dims.Dh / 2;
  for (let j = 0; j < p.qkt.length; j++) if (j % dims.Dh >= half) p.qkt[j] = p.qkt[j - half]!;
  const x = rand(r, dims.T * dims.D);
  const y0 = (await block_forward(x, fp, dims)).y;
  const y1 = (await block_forward(x, letTransform(fp, p, dims), dims)).y;
  let worst = 0;
  for (let i = 0; i < y0.length; i++) worst = Math.max(worst, Math.abs(y0[i]! - y1[i]!));
  assert.ok(worst < 1e-4, `max |Δy| = ${worst}`);
  // and the transform is not a no-op on the tensors
  const tw = letTransform(fp, p, dims);
  assert.notDeepEqual(tw.q, fp.q);
  assert.notDeepEqual(tw.inputNorm, fp.inputNorm);
});

test("LET init (SmoothQuant, α 0.5) and truncation follow quantize/omniquant.py and utils.truncate_number", () => {
  const r = rng(4);
  const fp = tinyBlock(r);
  const act = { n1: Float32Array.from({ length: dims.D }, (_, i) => i + 1), att: Float32Array.from({ length: dims.H * dims.Dh }, (_, i) => 0.5 + i), n2: new Float32Array(dims.D).fill(4) };
  const p = initLet(fp, act, dims, 0.5);
  const colMax = (w: Float32Array, rows: number, cols: number, c: number) => Math.max(...Array.from({ length: rows }, (_, rr) => w[rr * cols + c]!));
  for (let c = 0; c < dims.D; c++) {
    assert.ok(Math.abs(p.qkv[c]! - Math.sqrt(c + 1) / Math.sqrt(Math.max(colMax(fp.q, dims.H * dims.Dh, dims.D, c), 1e-5))) < 1e-5);
    assert.ok(Math.abs(p.fc1[c]! - 2 / Math.sqrt(Math.max(colMax(fp.mlp!.up, dims.F, dims.D, c), 1e-5))) < 1e-5);
  }
  // out: kv channel j of group g takes the max over the query heads of the group (heads 2g, 2g+1 here)
  const j = 1;
  const a = Math.max(act.att[j]!, act.att[dims.Dh + j]!);
  const w = Math.max(colMax(fp.o, dims.D, dims.H * dims.Dh, j), colMax(fp.o, dims.D, dims.H * dims.Dh, dims.Dh + j));
  assert.ok(Math.abs(p.out[j]! - Math.sqrt(a) / Math.sqrt(Math.max(w, 1e-5))) < 1e-5);
  assert.ok(p.qkt.every((v) => v === 1));
  p.qkv[0] = 0.004;
  p.qkv[1] = -0.001;
  truncateLet(p);
  assert.equal(p.qkv[0], Math.fround(0.01));
  assert.equal(p.qkv[1], Math.fround(-0.01));
});
