// OmniQuant's CUDA layer trainer (src/nn/train/cuda, kernels/{train_*,lwc,adamw}.cu, src/passes/omniquant/cuda-trainer.ts)
// against the CPU oracle (src/nn/train, lwc.ts, adamw.ts) on seeded random inputs: each kernel, the whole Llama and
// Mixtral block forward/backward (GQA), LWC forward/backward, AdamW steps; then a llama-t run on cuda vs cpu.
// Tolerances: fp32 on both sides, different summation orders (cuBLAS, warp/block reductions vs sequential JS).

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attention_backward, attention_forward } from "../../src/nn/train/attention.js";
import { block_backward, block_forward, type BlockDims, type BlockWeights } from "../../src/nn/train/block.js";
import { rmsnorm_backward, rmsnorm_forward } from "../../src/nn/train/rmsnorm.js";
import { rope_backward, rope_forward } from "../../src/nn/train/rope.js";
import { swiglu_backward, swiglu_forward } from "../../src/nn/train/swiglu.js";
import { TrainDevice, ptr, i32, i64, NULL_PTR, type TrainGemmMode } from "../../src/nn/train/cuda/context.js";
import { attentionBackward, attentionForward } from "../../src/nn/train/cuda/attention.js";
import { BlockWorkspace, blockBackward, blockForward } from "../../src/nn/train/cuda/block.js";
import { adamwStep, lwcBackward, lwcForward, lwcRanges, lwcWeightBf16 } from "../../src/nn/train/cuda/lwc.js";
import { linearKeys, linearPtr, uploadBlock } from "../../src/nn/train/cuda/weights.js";
import { AdamW } from "../../src/passes/omniquant/adamw.js";
import { Lwc } from "../../src/passes/omniquant/lwc.js";
import { runOmniQuant, type OmniQuantOptions } from "../../src/passes/omniquant/run.js";
import { CudaLayerTrainer } from "../../src/passes/omniquant/cuda-trainer.js";
import type { LinearSlot } from "../../src/passes/omniquant/block-weights.js";
import { BlockCheckpoints } from "../../src/pipeline/checkpoint.js";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { cpuCudaPpl, cutAndResume } from "./omniquant-e2e.js";
import { silent } from "../../src/util/events.js";
import { compare, cudaOps, fmtErr, measured, noGpu, randn, seed } from "./helpers.js";

const opts = { skip: noGpu };
let tdCache: Map<string, TrainDevice> | undefined;
/** lowp: force the bf16 mode's low-precision attention (by default it runs from T 1024 only; these tests use small T) */
async function trainDevice(mode: TrainGemmMode = "fp32", lowp = false): Promise<TrainDevice> {
  tdCache ??= new Map();
  const dev = (await cudaOps()).dev;
  const key = `${mode}${lowp ? "+lowp" : ""}`;
  if (!tdCache.has(key)) tdCache.set(key, new TrainDevice(dev, mode, lowp ? { lowpAttention: true } : {}));
  return tdCache.get(key)!;
}

function expectClose(op: string, s: number, got: Float32Array, want: Float32Array, tol: { relMax?: number; relL2?: number }): void {
  const e = compare(got, want);
  measured.push({ op, seed: s, err: fmtErr(e) });
  if (tol.relMax !== undefined) assert.ok(e.relMax <= tol.relMax, `${op} (seed ${s}): ${fmtErr(e)}: relMax > ${tol.relMax}`);
  if (tol.relL2 !== undefined) assert.ok(e.relL2 <= tol.relL2, `${op} (seed ${s}): ${fmtErr(e)}: relL2 > ${tol.relL2}`);
}

test("rmsnorm forward/backward (dx, dw) vs src/nn/train/rmsnorm.ts", opts, async () => {
  const td = await trainDevice();
  const s = seed();
  const [T, D] = [37, 200];
  const x = randn(T * D, s, 2), w = randn(D, s + 1), dout = randn(T * D, s + 2), base = randn(T * D, s + 3);
  const [bx, bw, bd, bb] = [x, w, dout, base].map((a) => td.upload(a));
  const out = td.alloc(T * D), rstd = td.alloc(T), dx = td.alloc(T * D), dw = td.zeros(D);
  td.launch("train_norm.cu", "rmsnorm_fwd", T, 256, [ptr(out.ptr), ptr(rstd.ptr), ptr(bx!.ptr), ptr(bw!.ptr), i32(T), i32(D), { f: 1e-5 }]);
  td.launch("train_norm.cu", "rmsnorm_bwd_dx", T, 256, [ptr(dx.ptr), ptr(bb!.ptr), ptr(bd!.ptr), ptr(bx!.ptr), ptr(bw!.ptr), ptr(rstd.ptr), i32(T), i32(D)]);
  td.launch("train_norm.cu", "rmsnorm_bwd_dw", Math.ceil(D / 128), 128, [ptr(dw.ptr), ptr(bd!.ptr), ptr(bx!.ptr), ptr(rstd.ptr), i32(T), i32(D)]);
  const ref = rmsnorm_forward(x, w, T, D, 1e-5);
  const refDw = new Float32Array(D);
  const refDx = rmsnorm_backward(dout, x, w, ref.rstd, T, D, Float32Array.from(base), refDw);
  expectClose("rmsnorm_fwd", s, td.download(out), ref.out, { relMax: 1e-5 });
  expectClose("rmsnorm_fwd rstd", s, td.download(rstd), ref.rstd, { relMax: 1e-5 });
  expectClose("rmsnorm_bwd_dx", s, td.download(dx), refDx, { relMax: 1e-5 });
  expectClose("rmsnorm_bwd_dw", s, td.download(dw), refDw, { relMax: 1e-5 });
  td.free(bx, bw, bd, bb, out, rstd, dx, dw);
});

test("rope forward/backward, swiglu forward/backward, MSE gradient vs src/nn/train", opts, async () => {
  const td = await trainDevice();
  const s = seed();
  const [T, H, Dh] = [50, 3, 32];
  const x = randn(T * H * Dh, s);
  const ws = new BlockWorkspace(td, { T, D: 8, H, KH: H, Dh, F: 8, eps: 1e-5, theta: 10000 }, true);
  for (const inverse of [false, true]) {
    const b = td.upload(x);
    td.elementwise("train_rope.cu", "rope_inplace", (T * H * Dh) / 2, [ptr(b.ptr), ptr(ws.p("cos")), ptr(ws.p("sin")), i32(T), i32(H), i32(Dh), i32(inverse ? 1 : 0)]);
    expectClose(`rope ${inverse ? "backward" : "forward"}`, s, td.download(b), (inverse ? rope_backward : rope_forward)(x, T, H, Dh, 10000), { relMax: 1e-6 });
    td.free(b);
  }
  ws.dispose();
  const n = 5000;
  const g = randn(n, s + 1, 3), u = randn(n, s + 2), d = randn(n, s + 3);
  const [bg, bu, bd] = [g, u, d].map((a) => td.upload(a));
  const y = td.alloc(n), dg = td.alloc(n), du = td.alloc(n);
  td.elementwise("train_elementwise.cu", "swiglu_fwd", n, [ptr(y.ptr), ptr(bg!.ptr), ptr(bu!.ptr), i64(n)]);
  td.elementwise("train_elementwise.cu", "swiglu_bwd", n, [ptr(dg.ptr), ptr(du.ptr), ptr(bd!.ptr), ptr(bg!.ptr), ptr(bu!.ptr), i64(n)]);
  const rb = swiglu_backward(d, g, u);
  expectClose("swiglu_fwd", s, td.download(y), swiglu_forward(g, u), { relMax: 1e-6 });
  expectClose("swiglu_bwd dgate", s, td.download(dg), rb.dgate, { relMax: 1e-6 });
  expectClose("swiglu_bwd dup", s, td.download(du), rb.dup, { relMax: 1e-6 });
  // MSE: loss Σ(y−t)² and dy = 2(y−t)/n
  const loss = td.zeros(2);
  td.elementwise("train_elementwise.cu", "mse_grad", n, [ptr(dg.ptr), ptr(loss.ptr), ptr(bg!.ptr), ptr(bu!.ptr), i64(n), i32(0)]);
  const l = new Float64Array(1);
  td.dev.allocator.copyOut(l, loss.ptr);
  let want = 0;
  const wantDy = new Float32Array(n);
  for (let i = 0; i < n; i++) { const e = g[i]! - u[i]!; want += e * e; wantDy[i] = (2 * e) / n; }
  assert.ok(Math.abs(l[0]! - want) <= 1e-5 * want, `mse loss ${l[0]} vs ${want}`);
  expectClose("mse_grad dy", s, td.download(dg), wantDy, { relMax: 1e-6 });
  // accumulate (--aug-loss's second term): dy += 2(y−t)/n with t = up again, so dy doubles; the loss adds up too
  td.elementwise("train_elementwise.cu", "mse_grad", n, [ptr(dg.ptr), ptr(loss.ptr), ptr(bg!.ptr), ptr(bu!.ptr), i64(n), i32(1)]);
  td.dev.allocator.copyOut(l, loss.ptr);
  assert.ok(Math.abs(l[0]! - 2 * want) <= 1e-5 * want, `accumulated mse loss ${l[0]} vs ${2 * want}`);
  expectClose("mse_grad dy accumulated", s, td.download(dg), wantDy.map((v) => 2 * v), { relMax: 1e-6 });
  td.free(bg, bu, bd, y, dg, du, loss);
});

test("causal GQA attention forward/backward vs src/nn/train/attention.ts", opts, async () => {
  const td = await trainDevice();
  const s = seed();
  const [T, H, KH, Dh] = [45, 6, 2, 16];
  const q = randn(T * H * Dh, s), k = randn(T * KH * Dh, s + 1), v = randn(T * KH * Dh, s + 2), dout = randn(T * H * Dh, s + 3);
  const [bq, bk, bv, bd] = [q, k, v, dout].map((a) => td.upload(a));
  const p = td.alloc(H * T * T), ds = td.alloc(H * T * T), out = td.alloc(T * H * Dh), dq = td.alloc(T * H * Dh), dk = td.alloc(T * KH * Dh), dv = td.alloc(T * KH * Dh);
  attentionForward(td, { T, H, KH, Dh }, bq!.ptr, bk!.ptr, bv!.ptr, p.ptr, out.ptr);
  attentionBackward(td, { T, H, KH, Dh }, bd!.ptr, bq!.ptr, bk!.ptr, bv!.ptr, p.ptr, ds.ptr, dq.ptr, dk.ptr, dv.ptr);
  const ref = await attention_forward(q, k, v, T, H, KH, Dh);
  const rb = await attention_backward(dout, ref.cache, T, H, KH, Dh);
  expectClose("attention out", s, td.download(out), ref.out, { relMax: 1e-5 });
  expectClose("attention probs", s, td.download(p), ref.cache.p, { relMax: 1e-5 });
  expectClose("attention dq", s, td.download(dq), rb.dq, { relMax: 1e-5 });
  expectClose("attention dk", s, td.download(dk), rb.dk, { relMax: 1e-5 });
  expectClose("attention dv", s, td.download(dv), rb.dv, { relMax: 1e-5 });
  // the bf16 mode's low-precision path (bf16 q, k, v, P, dO, dS; fp32 scores, dP, accumulators and outputs) vs the
  // fp32 oracle: operand rounding 2⁻⁹ relative, sums over ≤ T = 45 terms
  const tb = await trainDevice("bf16");
  const h = (n: number) => tb.alloc(Math.ceil(n / 2));
  const lp = { q16: h(T * H * Dh).ptr, k16: h(T * KH * Dh).ptr, v16: h(T * KH * Dh).ptr, p16: h(H * T * T).ptr, do16: h(T * H * Dh).ptr, ds16: h(H * T * T).ptr };
  // one query block, then blocks of 16 rows (16, 16, 13: the causal-skipping GEMMs and the softmax row limits)
  for (const rowBlock of [undefined, 16]) {
    const tag = rowBlock ? `attention bf16 rows/${rowBlock}` : "attention bf16";
    const l = { ...lp, ...(rowBlock ? { rowBlock } : {}) };
    for (const b of [out, dq, dk, dv]) tb.dev.driver.memsetD32(b.ptr, 0x7fc00000, b.n); // NaN: every output must be written
    attentionForward(tb, { T, H, KH, Dh }, bq!.ptr, bk!.ptr, bv!.ptr, p.ptr, out.ptr, l);
    const p16 = new Uint16Array(H * T * T);
    tb.dev.allocator.copyOut(p16, lp.p16);
    const u = new Uint32Array(1), f = new Float32Array(u.buffer);
    const probs = Float32Array.from(p16, (b) => { u[0] = b << 16; return f[0]!; });
    // in-block entries only: with row blocks the columns past a row's block end are never written (nor read)
    const bs = rowBlock ?? T;
    for (let i = 0; i < probs.length; i++) { const r = Math.floor(i / T) % T, c = i % T; if (c >= Math.min(T, (Math.floor(r / bs) + 1) * bs)) probs[i] = ref.cache.p[i]!; }
    attentionBackward(tb, { T, H, KH, Dh }, bd!.ptr, bq!.ptr, bk!.ptr, bv!.ptr, p.ptr, ds.ptr, dq.ptr, dk.ptr, dv.ptr, l);
    const tol = { relL2: 1e-2 };
    expectClose(`${tag} out`, s, td.download(out), ref.out, tol);
    expectClose(`${tag} probs`, s, probs, ref.cache.p, tol);
    expectClose(`${tag} dq`, s, td.download(dq), rb.dq, tol);
    expectClose(`${tag} dk`, s, td.download(dk), rb.dk, tol);
    expectClose(`${tag} dv`, s, td.download(dv), rb.dv, tol);
  }
  for (const x of Object.values(lp)) tb.dev.allocator.free(x);
  td.free(bq, bk, bv, bd, p, ds, out, dq, dk, dv);
});

for (const spec of [
  { bits: 2, groupSize: 64, sym: false }, { bits: 3, groupSize: 32, sym: false }, { bits: 4, groupSize: 128, sym: false },
  { bits: 4, groupSize: -1, sym: false }, { bits: 3, groupSize: 32, sym: true }, { bits: 4, groupSize: 64, sym: true },
]) {
  test(`LWC forward/backward W${spec.bits} g${spec.groupSize} ${spec.sym ? "sym" : "asym"} vs lwc.ts`, opts, async () => {
    const td = await trainDevice();
    const s = seed();
    const [rows, cols] = [48, 256];
    const w = randn(rows * cols, s, 0.05);
    const q = new Lwc("t", rows, cols, spec);
    const G = q.gamma.length; // rows · groups per row
    const rg = randn(G * 2, s + 1);
    for (let i = 0; i < G; i++) { q.gamma[i] = 1 + 2 * Math.tanh(rg[i]!); q.beta[i] = 1 + 2 * Math.tanh(rg[G + i]!); }
    const dwq = randn(rows * cols, s + 2);
    const wantQ = q.forward(w);
    const wantG = new Float32Array(G), wantB = new Float32Array(G);
    q.backward(w, dwq, wantG, wantB);
    const shape = { groups: G, g: q.g, bits: spec.bits, sym: spec.sym };
    const [bw, bdq, bg, bb] = [w, dwq, q.gamma, q.beta].map((a) => td.upload(a));
    const mx = td.alloc(G), mn = td.alloc(G), wq = td.alloc(rows * cols), dg = td.alloc(G), db = td.alloc(G);
    lwcRanges(td, shape, bw!.ptr, mx.ptr, mn.ptr);
    const wq16 = td.alloc(Math.ceil((rows * cols) / 2));
    lwcForward(td, shape, wq.ptr, bw!.ptr, mx.ptr, mn.ptr, bg!.ptr, bb!.ptr, wq16.ptr);
    lwcBackward(td, shape, dg.ptr, db.ptr, bdq!.ptr, bw!.ptr, mx.ptr, mn.ptr, bg!.ptr, bb!.ptr);
    const gotQ = td.download(wq);
    let differ = 0;
    for (let i = 0; i < gotQ.length; i++) if (gotQ[i] !== wantQ[i]) differ++;
    measured.push({ op: `lwc_fwd W${spec.bits}g${spec.groupSize}${spec.sym ? "s" : "a"}`, seed: s, err: `${differ}/${gotQ.length} elements differ` });
    // the same fp32 operations in the same order: bit-identical except a rare round-half flip from σ's last ulp
    assert.ok(differ <= gotQ.length * 1e-3, `Ŵ differs in ${differ} of ${gotQ.length} elements (seed ${s})`);
    // the bf16 copy (bf16 GEMM mode's operand): Ŵ rounded to nearest even, bit-exact against the fp32 output's rounding
    const got16 = new Uint16Array(rows * cols);
    td.dev.allocator.copyOut(got16, wq16.ptr);
    const u = new Uint32Array(gotQ.buffer);
    let differ16 = 0;
    for (let i = 0; i < got16.length; i++) if (got16[i] !== ((u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16)) differ16++;
    assert.equal(differ16, 0, `bf16 Ŵ differs from round(fp32 Ŵ) in ${differ16} elements (seed ${s})`);
    td.free(wq16);
    expectClose(`lwc_bwd dγ W${spec.bits}g${spec.groupSize}${spec.sym ? "s" : "a"}`, s, td.download(dg), wantG, { relL2: 1e-4 });
    expectClose(`lwc_bwd dβ W${spec.bits}g${spec.groupSize}${spec.sym ? "s" : "a"}`, s, td.download(db), wantB, { relL2: 1e-4 });
    // bf16 dŴ (the bf16 GEMM mode's dW GEMMs write bf16): the oracle on the same bf16-rounded values
    const dwq16 = new Uint16Array(rows * cols);
    const du32 = new Uint32Array(dwq.buffer);
    for (let i = 0; i < dwq16.length; i++) dwq16[i] = (du32[i]! + 0x7fff + ((du32[i]! >>> 16) & 1)) >>> 16;
    const dwqR = Float32Array.from(dwq16, (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]!);
    const wantG16 = new Float32Array(G), wantB16 = new Float32Array(G);
    q.backward(w, dwqR, wantG16, wantB16);
    const bd16 = td.alloc(Math.ceil((rows * cols) / 2));
    td.dev.allocator.copyIn(bd16.ptr, dwq16);
    lwcBackward(td, shape, dg.ptr, db.ptr, bd16.ptr, bw!.ptr, mx.ptr, mn.ptr, bg!.ptr, bb!.ptr, true);
    expectClose(`lwc_bwd bf16 dŴ dγ W${spec.bits}g${spec.groupSize}${spec.sym ? "s" : "a"}`, s, td.download(dg), wantG16, { relL2: 1e-4 });
    expectClose(`lwc_bwd bf16 dŴ dβ W${spec.bits}g${spec.groupSize}${spec.sym ? "s" : "a"}`, s, td.download(db), wantB16, { relL2: 1e-4 });
    td.free(bd16);
    // a bf16-valued W (a bf16 checkpoint): lwc_w_bf16 finds it exact, and reading its bf16 copy gives the same Ŵ, dγ, dβ
    // bit for bit (the same values through the same arithmetic); a W that is not bf16-valued is flagged
    const wu = new Uint32Array(w.buffer.slice(0));
    for (let i = 0; i < wu.length; i++) wu[i] = (((wu[i]! + 0x7fff + ((wu[i]! >>> 16) & 1)) >>> 16) << 16) >>> 0;
    const wR = new Float32Array(wu.buffer);
    const bwR = td.upload(wR), w16 = td.alloc(Math.ceil((rows * cols) / 2)), flags = td.zeros(2);
    lwcWeightBf16(td, w16.ptr, bwR.ptr, rows * cols, flags.ptr);
    lwcWeightBf16(td, w16.ptr, bw!.ptr, rows * cols, flags.ptr + 4);
    const fl = new Uint32Array(2);
    td.dev.allocator.copyOut(fl, flags.ptr);
    assert.deepEqual([...fl], [0, 1], "lwc_w_bf16: a bf16-valued W is exact, a random fp32 W is not");
    lwcWeightBf16(td, w16.ptr, bwR.ptr, rows * cols, flags.ptr); // w16 again holds wR's copy
    lwcRanges(td, shape, bwR.ptr, mx.ptr, mn.ptr);
    const outs = [0, 1].map((useW16) => {
      lwcForward(td, shape, wq.ptr, bwR.ptr, mx.ptr, mn.ptr, bg!.ptr, bb!.ptr, 0, useW16 ? w16.ptr : 0);
      lwcBackward(td, shape, dg.ptr, db.ptr, bdq!.ptr, bwR.ptr, mx.ptr, mn.ptr, bg!.ptr, bb!.ptr, false, useW16 ? w16.ptr : 0);
      return [td.download(wq), td.download(dg), td.download(db)];
    });
    for (let j = 0; j < 3; j++) assert.deepEqual(outs[1]![j], outs[0]![j], `W read from its bf16 copy: ${["Ŵ", "dγ", "dβ"][j]} differs (seed ${s})`);
    td.free(bwR, w16, flags);
    td.free(bw, bdq, bg, bb, mx, mn, wq, dg, db);
  });
}

test("AdamW: 3 steps vs adamw.ts (torch.optim.AdamW)", opts, async () => {
  const td = await trainDevice();
  const s = seed();
  const n = 3000;
  const p = randn(n, s), host = Float32Array.from(p);
  const opt = new AdamW([host], 1e-2, 0);
  const [bp, m, v] = [td.upload(p), td.zeros(n), td.zeros(n)];
  for (let t = 1; t <= 3; t++) {
    const g = randn(n, s + t, 1e-3);
    opt.step([g]);
    const bg = td.upload(g);
    adamwStep(td, { lr: 1e-2 }, t, bp.ptr, bg.ptr, m.ptr, v.ptr, n);
    td.free(bg);
  }
  expectClose("adamw 3 steps", s, td.download(bp), host, { relMax: 1e-6 });
  td.free(bp, m, v);
});

function sizeOfKey(w: BlockWeights, d: BlockDims, key: string): number {
  return ["q", "k", "v", "o"].includes(key) ? w[key as "q"].length : d.F * d.D;
}

function randomBlock(s: number, d: BlockDims, experts: number): BlockWeights {
  const { D, H, KH, Dh, F } = d;
  let k = 0;
  const r = (n: number, sc: number) => randn(n, s + 100 * ++k, sc);
  const mlp = () => ({ gate: r(F * D, 0.1), up: r(F * D, 0.1), down: r(D * F, 0.1) });
  const w: BlockWeights = {
    inputNorm: Float32Array.from(r(D, 0.1), (x) => 1 + x), postNorm: Float32Array.from(r(D, 0.1), (x) => 1 + x),
    q: r(H * Dh * D, 0.1), k: r(KH * Dh * D, 0.1), v: r(KH * Dh * D, 0.1), o: r(D * H * Dh, 0.1),
  };
  if (experts === 0) w.mlp = mlp();
  else { w.router = r(experts * D, 0.3); w.experts = Array.from({ length: experts }, mlp); }
  return w;
}

for (const [label, experts, mode, preCast] of [
  ["llama", 0, "fp32", false], ["mixtral (4 experts, top-2)", 4, "fp32", false], ["llama, tf32 GEMMs", 0, "tf32", false], ["llama, bf16 Linear GEMMs", 0, "bf16", false],
  ["llama, bf16 GEMMs on bf16 weight copies, bf16 dW, low-precision attention", 0, "bf16", true],
] as const) {
  test(`block forward/backward parity, ${label}, GQA 6/2 heads, q width ≠ hidden`, opts, async () => {
    const td = await trainDevice(mode, preCast);
    const s = seed();
    const d: BlockDims = { T: 40, D: 64, H: 6, KH: 2, Dh: 16, F: 96, eps: 1e-5, theta: 10000, ...(experts ? { topK: 2 } : {}) };
    const w = randomBlock(s, d, experts);
    const x = randn(d.T * d.D, s + 1), dy = randn(d.T * d.D, s + 2, 0.1);
    const ref = await block_forward(x, w, d);
    const rg = await block_backward(dy, ref.cache, w, d, true);
    const { dw, bufs } = uploadBlock(td, w);
    // the trainer's bf16 path: every Linear read from a registered bf16 copy (as lwc_fwd writes Ŵ) instead of a cast
    const copies = preCast ? linearKeys(w).map((key) => { const fp = linearPtr(dw, key); const n = sizeOfKey(w, d, key); const c = td.alloc(Math.ceil(n / 2)); td.castBf16(c.ptr, fp, n); td.setBf16Weight(fp, c.ptr); return { fp, c }; }) : [];
    const ws = new BlockWorkspace(td, d, experts === 0);
    const [bx, bdy, y] = [td.upload(x), td.upload(dy), td.alloc(d.T * d.D)];
    const normGrads = { inputNorm: td.zeros(d.D), postNorm: td.zeros(d.D) };
    blockForward(ws, dw, bx.ptr, y.ptr);
    const grads = new Map<string, Float32Array>();
    const sizeOf = (key: string) => (["q", "k", "v", "o"].includes(key) ? w[key as "q"].length : d.F * d.D);
    // with the bf16 weight copies also the trainer's bf16 dW (dwBf16)
    const fromBf16 = (p: number, n: number) => { const h = new Uint16Array(n); td.dev.allocator.copyOut(h, p); const u = new Uint32Array(n); for (let i = 0; i < n; i++) u[i] = h[i]! << 16; return new Float32Array(u.buffer); };
    blockBackward(ws, dw, bdy.ptr, (key, g) => grads.set(key, preCast ? fromBf16(g, sizeOf(key)) : td.download({ ptr: g, n: sizeOf(key) })), { wantDx: true, normGrads: { inputNorm: normGrads.inputNorm.ptr, postNorm: normGrads.postNorm.ptr }, ...(preCast ? { dwBf16: true } : {}) });
    // tf32: 10-bit mantissa inputs; bf16: 7-bit (relative rounding 2⁻⁹ per operand, accumulated over K ≤ 96)
    const tol = mode === "fp32" ? { relMax: 2e-4, relL2: 2e-5 } : mode === "tf32" ? { relL2: 1e-2 } : { relL2: 3e-2 };
    expectClose(`block ${label} y`, s, td.download(y), ref.y, tol);
    expectClose(`block ${label} dx`, s, td.download({ ptr: ws.p("dx"), n: d.T * d.D }), rg.dx!, tol);
    expectClose(`block ${label} d inputNorm`, s, td.download(normGrads.inputNorm), rg.inputNorm!, tol);
    expectClose(`block ${label} d postNorm`, s, td.download(normGrads.postNorm), rg.postNorm, tol);
    const want = new Map<string, Float32Array | undefined>([["q", rg.q], ["k", rg.k], ["v", rg.v], ["o", rg.o]]);
    if (rg.mlp) for (const p of ["gate", "up", "down"] as const) want.set(`mlp.${p}`, rg.mlp[p]);
    rg.experts?.forEach((e, i) => { for (const p of ["gate", "up", "down"] as const) want.set(`experts.${i}.${p}`, e?.[p]); });
    for (const key of linearKeys(w)) {
      const wg = want.get(key);
      if (!wg) { assert.ok(!grads.has(key), `${key}: the GPU gave a gradient to an expert with no routed token`); continue; }
      assert.ok(grads.has(key), `${key}: no gradient from the GPU`);
      expectClose(`block ${label} dW ${key}`, s, grads.get(key)!, wg, tol);
    }
    ws.dispose();
    for (const { fp, c } of copies) { td.clearBf16Weight(fp); td.free(c); }
    td.free(bx, bdy, y, normGrads.inputNorm, normGrads.postNorm, ...bufs);
  });
}

test("CudaLayerTrainer, bf16 GEMMs (Ŵ written in bf16 while training, bf16 dW, W read from its bf16 copy) vs fp32 GEMMs: losses, γ/β, final fp32 Ŵ", opts, async () => {
  const dev = (await cudaOps()).dev;
  const s = seed();
  const d: BlockDims = { T: 64, D: 128, H: 4, KH: 2, Dh: 32, F: 256, eps: 1e-5, theta: 10000 };
  // bf16-valued weights, as from a bf16 checkpoint: the bf16 run's LWC kernels then read W's exact bf16 copy
  const w = randomBlock(s, d, 0);
  const toBf16 = (a: Float32Array) => { const u = new Uint32Array(a.buffer, a.byteOffset, a.length); for (let i = 0; i < u.length; i++) u[i] = (((u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16) << 16) >>> 0; };
  for (const a of [w.q, w.k, w.v, w.o, w.mlp!.gate, w.mlp!.up, w.mlp!.down]) toBf16(a);
  const shapes: [string, number, number][] = [["q", d.H * d.Dh, d.D], ["k", d.KH * d.Dh, d.D], ["v", d.KH * d.Dh, d.D], ["o", d.D, d.H * d.Dh], ["gate", d.F, d.D], ["up", d.F, d.D], ["down", d.D, d.F]];
  const slots = shapes.map(([module, rows, cols]) => ({ module, rows, cols }) as LinearSlot);
  const inputs = Array.from({ length: 4 }, (_, j) => randn(d.T * d.D, s + 10 + j));
  const spec = { bits: 3, groupSize: 32, sym: false };
  const run = async (mode: TrainGemmMode) => {
    // the low-precision attention forced on (T 64 is below its default threshold)
    const tr = new CudaLayerTrainer(dev, d, inputs, true, mode, mode === "bf16" ? { lowpAttention: true } : {});
    const lwcs = slots.map((x) => new Lwc(x.module, x.rows, x.cols, spec));
    const r = await tr.layer({ fp: w, slots, lwcs, restored: false, epochs: 3, lr: 1e-2, wantWeights: true });
    const stream = tr.quantStream();
    tr.dispose();
    return { r, lwcs, stream };
  };
  const [a, b] = [await run("fp32"), await run("bf16")];
  console.log(`trainer fp32 / bf16: mse before ${a.r.lossBefore.toExponential(4)} / ${b.r.lossBefore.toExponential(4)}, after ${a.r.lossAfter.toExponential(4)} / ${b.r.lossAfter.toExponential(4)}`);
  assert.ok(Math.abs(a.r.lossBefore - b.r.lossBefore) <= 3e-2 * a.r.lossBefore, "mse before");
  assert.ok(Math.abs(a.r.lossAfter - b.r.lossAfter) <= 3e-2 * a.r.lossAfter, "mse after");
  assert.ok(b.r.lossAfter < b.r.lossBefore, "bf16 training lowers the block MSE");
  let sumD = 0, sumMove = 0;
  a.lwcs.forEach((qa, i) => {
    const qb = b.lwcs[i]!;
    for (const [x, y] of [[qa.gamma, qb.gamma], [qa.beta, qb.beta]] as const) for (let j = 0; j < x.length; j++) { sumD += Math.abs(x[j]! - y[j]!); sumMove += Math.abs(x[j]! - 4); }
    // the final (fp32) Ŵ of the bf16 run is the quantizer of its own trained γ, β
    const m = shapes[i]![0];
    const want = qb.forward(m === "gate" || m === "up" || m === "down" ? w.mlp![m] : w[m as "q" | "k" | "v" | "o"]);
    const got = b.r.weights![i]!;
    let differ = 0;
    for (let j = 0; j < got.length; j++) if (got[j] !== want[j]) differ++;
    assert.ok(differ <= got.length * 1e-3, `${m}: final Ŵ differs from Lwc.forward in ${differ} of ${got.length}`);
  });
  measured.push({ op: "trainer bf16 vs fp32 γ/β", seed: s, err: `mean|Δ| ${(sumD / sumMove).toExponential(2)} of the mean movement` });
  // bf16 rounding steers Adam differently (±lr steps); the logits must still move mostly alike
  assert.ok(sumD <= 0.3 * sumMove, `γ/β: mean |Δ| is ${(sumD / sumMove).toFixed(3)} of the mean movement`);
  expectClose("trainer bf16 vs fp32 quant stream", s, b.stream[0]!, a.stream[0]!, { relL2: 3e-2 });
});

for (const [name, augLoss] of [["llama-t", false], ["moe-t", false], ["llama-t", true]] as const) test(`${name} end to end${augLoss ? " with --aug-loss" : ""}: runOmniQuant on cuda vs cpu (W3 g32, 8 × 128 windows, 2 epochs) → γ/β, block MSE, ppl`, opts, async () => {
  await cudaOps(); // device opened by the helpers first (the trainer opens its own handle on the same primary context)
  const tmp = mkdtempSync(join(tmpdir(), "memc-oq-gpu-"));
  const model = `fixtures/${name}`;
  const calib = "fixtures/text/english-sample.txt";
  const ckpt = await openCheckpoint(model);
  try {
    const base: OmniQuantOptions = { wbits: 3, groupSize: 32, sym: false, calib, nsamples: 8, seqlen: 128, epochs: 2, seed: 2, lwcLr: 1e-2, augLoss };
    const t0 = performance.now();
    const cpu = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "cpu.state") }, silent);
    const t1 = performance.now();
    const gpu = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "gpu.state"), device: "cuda" }, silent);
    const t2 = performance.now();
    console.log(`${name} ${ckpt.spec.layers} layers × 16 steps: cpu ${((t1 - t0) / 1000).toFixed(1)} s, cuda ${((t2 - t1) / 1000).toFixed(1)} s (incl. kernel compile)`);
    const open = (dir: string) => BlockCheckpoints.open<unknown>(dir, JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).fingerprint as string);
    const [sc, sg] = [await open(join(tmp, "cpu.state")), await open(join(tmp, "gpu.state"))];
    // Training is chaotic: one rounding difference flips an Adam step (±lr) or a round-half decision, and later layers
    // see quant streams shaped by every earlier difference. Control (bench/omniquant-perturbation.ts, CPU only): scaling
    // llama-t's embeddings by (1 + 2⁻²³) moves these same clip logits by mean |Δ| 3e-8 / 1.6e-4 / 6.8e-4 / 1.1e-3 in
    // layers 0–3 (0–36 % of them by > 1e-3) against a mean training movement of 7e-2. So the bound is on the mean: the
    // devices must agree on ≥ 95 % of how far training moved the logits, per layer; a wrong gradient gives ~100 %.
    let maxD = 0, n = 0, over = 0, moved = 0;
    for (let li = 0; li < ckpt.spec.layers; li++) {
      const [pc, pg] = [(await sc.load(li)).params, (await sg.load(li)).params];
      let sumD = 0, sumMove = 0, nl = 0;
      for (const [name, a] of pc) {
        const b = pg.get(name)!;
        for (let i = 0; i < a.length; i++) {
          const dd = Math.abs(a[i]! - b[i]!);
          maxD = Math.max(maxD, dd);
          sumD += dd;
          sumMove += Math.abs(a[i]! - 4);
          if (dd > 1e-3) over++;
          if (Math.abs(a[i]! - 4) > 1e-3) moved++;
          n++;
          nl++;
        }
      }
      const [lc, lg] = [cpu.layers[li]!, gpu.layers[li]!];
      console.log(`layer ${li}: mse before ${lc.lossBefore.toExponential(4)} / ${lg.lossBefore.toExponential(4)}, after ${lc.lossAfter.toExponential(4)} / ${lg.lossAfter.toExponential(4)} (cpu / cuda); γ/β mean |Δ| ${(sumD / nl).toExponential(2)} vs mean movement ${(sumMove / nl).toExponential(2)}`);
      measured.push({ op: `e2e ${name}${augLoss ? " aug" : ""} layer ${li} γ/β`, seed: 0, err: `mean|Δ| ${(sumD / nl).toExponential(2)}, mean move ${(sumMove / nl).toExponential(2)}` });
      // layer 0 sees identical inputs; later layers see quant streams shaped by slightly different γ, β
      assert.ok(Math.abs(lc.lossBefore - lg.lossBefore) <= (li === 0 ? 1e-4 : 1e-2) * lc.lossBefore, `layer ${li} mse before`);
      assert.ok(Math.abs(lc.lossAfter - lg.lossAfter) <= 1e-2 * lc.lossAfter, `layer ${li} mse after`);
      assert.ok(sumD <= 0.05 * sumMove, `layer ${li}: γ/β mean |Δ| ${(sumD / nl).toExponential(2)} > 5% of the mean movement ${(sumMove / nl).toExponential(2)}`);
    }
    console.log(`γ/β: ${n} values, ${moved} moved from init, max |Δ| cpu vs cuda ${maxD.toExponential(3)}, ${over} with |Δ| > 1e-3`);
    measured.push({ op: `e2e ${name}${augLoss ? " aug" : ""} γ/β`, seed: 0, err: `max|Δ| ${maxD.toExponential(3)}, ${over}/${n} > 1e-3` });
    assert.ok(moved > n / 2, "training moved most clip logits");
    const ppl = await cpuCudaPpl(ckpt, tmp, [cpu, gpu], calib);
    console.log(`ppl (english-sample, 16 × 256): cpu ${ppl[0]!.toFixed(4)} cuda ${ppl[1]!.toFixed(4)}`);
    measured.push({ op: `e2e ${name}${augLoss ? " aug" : ""} ppl`, seed: 0, err: `cpu ${ppl[0]!.toFixed(4)} cuda ${ppl[1]!.toFixed(4)}` });
    assert.ok(Math.abs(ppl[0]! - ppl[1]!) <= 2e-3 * ppl[0]!, "ppl within 0.2%");
  } finally {
    await ckpt.weights.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("cuda run killed after 2 layers and resumed (on cuda): same final weights as one uninterrupted cuda run", opts, async () => {
  await cudaOps();
  const tmp = mkdtempSync(join(tmpdir(), "memc-oq-gpu-resume-"));
  const ckpt = await openCheckpoint("fixtures/llama-t");
  try {
    const base: OmniQuantOptions = { wbits: 3, groupSize: 32, sym: false, calib: "fixtures/text/english-sample.txt", nsamples: 4, seqlen: 64, epochs: 1, seed: 2, lwcLr: 1e-2, device: "cuda" };
    const { full, resumed } = await cutAndResume(ckpt, tmp, base);
    for (const [n, w] of full.weights) assert.deepEqual(resumed.weights.get(n), w, `${n} differs after resume`);
  } finally {
    await ckpt.weights.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

after(() => {
  for (const m of measured) console.log(`${m.op.padEnd(48)} seed ${String(m.seed).padEnd(11)} ${m.err}`);
});
