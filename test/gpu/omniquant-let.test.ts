// OmniQuant weight-activation mode on the CUDA trainer (kernels/train_act_quant.cu, kernels/train_let.cu,
// lwc.cu lwc_input_grad, src/nn/train/cuda/{act-quant,let,block}.ts, cuda-trainer.ts with LET) against the CPU oracle
// (act-quant.ts, src/nn/train/block.ts with abits, let.ts / let-step.ts layerGrads, run.ts): kernels bit for bit where
// the math is elementwise, block and LET gradients within stated tolerances, then llama-t W4A4 --let cpu vs cuda.
// Activation fake-quant makes the comparison discontinuous: a pre-quant value that lands within an ulp of a rounding
// boundary can round the other way on the other device (one quantization step, h ≈ row range / 15 at A4, in that
// element, then spread by the next GEMM). The tests bound the fraction of such elements instead of the max error,
// and run the LET gradient check once with the quantizers off at the fp32 tolerance of the block tests.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { actquant_backward, actquant_forward } from "../../src/nn/train/act-quant.js";
import { block_backward, block_forward, type BlockDims, type BlockWeights } from "../../src/nn/train/block.js";
import { TrainDevice } from "../../src/nn/train/cuda/context.js";
import { actQuantBackward, actQuantForward } from "../../src/nn/train/cuda/act-quant.js";
import { BlockWorkspace, blockBackward, blockForward } from "../../src/nn/train/cuda/block.js";
import { DevLet } from "../../src/nn/train/cuda/let.js";
import { lwcBackward, lwcForward, lwcInputGrad, lwcRanges, type LwcShape } from "../../src/nn/train/cuda/lwc.js";
import { linearKeys, mapLinears, uploadBlock } from "../../src/nn/train/cuda/weights.js";
import type { LinearSlot } from "../../src/passes/omniquant/block-weights.js";
import { LET_KEYS, type LetParams } from "../../src/passes/omniquant/let.js";
import { layerGrads, quantizeBlock } from "../../src/passes/omniquant/let-step.js";
import { Lwc } from "../../src/passes/omniquant/lwc.js";
import { runOmniQuant, type OmniQuantOptions } from "../../src/passes/omniquant/run.js";
import { BlockCheckpoints } from "../../src/pipeline/checkpoint.js";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { ACT_QUANT_KEY, actQuantConfig } from "../../src/model/act-quant-config.js";
import { cpuCudaPpl, cutAndResume } from "./omniquant-e2e.js";
import { silent } from "../../src/util/events.js";
import { compare, cudaOps, fmtErr, measured, noGpu, randn, seed } from "./helpers.js";

const opts = { skip: noGpu };
let tdOnce: TrainDevice | undefined;
async function trainDevice(): Promise<TrainDevice> {
  tdOnce ??= new TrainDevice((await cudaOps()).dev, "fp32");
  return tdOnce;
}

function expectClose(op: string, s: number, got: Float32Array, want: Float32Array, tol: { relMax?: number; relL2?: number }): void {
  const e = compare(got, want);
  measured.push({ op, seed: s, err: fmtErr(e) });
  if (tol.relMax !== undefined) assert.ok(e.relMax <= tol.relMax, `${op} (seed ${s}): ${fmtErr(e)}: relMax > ${tol.relMax}`);
  if (tol.relL2 !== undefined) assert.ok(e.relL2 <= tol.relL2, `${op} (seed ${s}): ${fmtErr(e)}: relL2 > ${tol.relL2}`);
}

/** elements differing by more than 1e-3·max|want|: the footprint of rounding flips; bounded as a fraction */
function expectFewFlips(op: string, s: number, got: Float32Array, want: Float32Array, maxFrac: number, relL2: number): void {
  const e = compare(got, want);
  let maxRef = 0;
  for (const v of want) maxRef = Math.max(maxRef, Math.abs(v));
  let n = 0;
  for (let i = 0; i < got.length; i++) if (Math.abs(got[i]! - want[i]!) > 1e-3 * maxRef) n++;
  measured.push({ op, seed: s, err: `${fmtErr(e)}, ${n}/${got.length} off by > 1e-3·max` });
  assert.ok(n <= maxFrac * got.length, `${op} (seed ${s}): ${n} of ${got.length} elements off by > 1e-3·max|ref| (bound ${maxFrac})`);
  assert.ok(e.relL2 <= relL2, `${op} (seed ${s}): ${fmtErr(e)}: relL2 > ${relL2}`);
}

const bitsDiffer = (a: Float32Array, b: Float32Array) => { let n = 0; for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++; return n; };

test("train_act_quant.cu forward bit-identical, backward vs act-quant.ts (ties, constant rows, 4/6/8 bits)", opts, async () => {
  const td = await trainDevice();
  const s = seed();
  for (const [rows, len] of [[37, 16], [20, 96], [9, 300]] as const) {
    for (const bits of [4, 6, 8]) {
      const x = randn(rows * len, s + len + bits, 2);
      x.fill(0.75, 0, len); // row 0 constant: the scale clamp is active (no gradient through the scale)
      x[len + 3] = x[len + 7] = 9; // row 1: a tied max
      x[2 * len + 1] = x[2 * len + 5] = -9; // row 2: a tied min
      const dout = randn(rows * len, s + 1);
      const ref = actquant_forward(x, rows, len, bits);
      const refDx = actquant_backward(dout, ref.cache);
      const [bx, bd, by] = [td.upload(x), td.upload(dout), td.alloc(rows * len)];
      actQuantForward(td, by.ptr, bx.ptr, rows, len, bits);
      const y = td.download(by);
      assert.equal(bitsDiffer(y, ref.out), 0, `aq_fwd ${rows}×${len} A${bits}: ${bitsDiffer(y, ref.out)} elements differ`);
      actQuantBackward(td, bd.ptr, bd.ptr, bx.ptr, rows, len, bits); // in place, as the block does
      expectClose(`aq_bwd ${rows}×${len} A${bits}`, s, td.download(bd), refDx, { relMax: 1e-6 });
      td.free(bx, bd, by);
    }
  }
});

function randomBlock(s: number, d: BlockDims): BlockWeights {
  const { D, H, KH, Dh, F } = d;
  let k = s;
  const r = (n: number, sigma: number) => randn(n, ++k, sigma);
  return {
    inputNorm: Float32Array.from(r(D, 0.1), (x) => 1 + x), postNorm: Float32Array.from(r(D, 0.1), (x) => 1 + x),
    q: r(H * Dh * D, 0.1), k: r(KH * Dh * D, 0.1), v: r(KH * Dh * D, 0.1), o: r(D * H * Dh, 0.1),
    mlp: { gate: r(F * D, 0.1), up: r(F * D, 0.1), down: r(D * F, 0.1) },
  };
}

const dimsA4: BlockDims = { T: 40, D: 64, H: 6, KH: 2, Dh: 16, F: 96, eps: 1e-5, theta: 10000, abits: 4 };

test("block forward/backward with A4 activation fake-quant (GQA 6/2, q width ≠ hidden) vs block.ts with abits 4", opts, async () => {
  const td = await trainDevice();
  const s = seed();
  const d = dimsA4;
  const w = randomBlock(s, d);
  const x = randn(d.T * d.D, s + 100), dy = randn(d.T * d.D, s + 101, 0.1);
  const ref = await block_forward(x, w, d);
  const rg = await block_backward(dy, ref.cache, w, d, true);
  const { dw, bufs } = uploadBlock(td, w);
  const ws = new BlockWorkspace(td, d, true);
  const [bx, bdy, y] = [td.upload(x), td.upload(dy), td.alloc(d.T * d.D)];
  const ng = { inputNorm: td.zeros(d.D), postNorm: td.zeros(d.D) };
  blockForward(ws, dw, bx.ptr, y.ptr, true);
  const grads = new Map<string, Float32Array>();
  const sizeOf = (key: string) => (["q", "k", "v", "o"].includes(key) ? w[key as "q"].length : d.F * d.D);
  blockBackward(ws, dw, bdy.ptr, (key, g) => grads.set(key, td.download({ ptr: g, n: sizeOf(key) })), { wantDx: true, normGrads: { inputNorm: ng.inputNorm.ptr, postNorm: ng.postNorm.ptr } });
  const yg = td.download(y);
  // control: the quantizers are really on (A4 moves y by far more than the bound below)
  const fpY = (await block_forward(x, w, { ...d, abits: undefined })).y;
  assert.ok(compare(yg, fpY).relL2 > 1e-2, `A4 output too close to the unquantized one (${fmtErr(compare(yg, fpY))})`);
  // without a flip these agree to ~1e-6 (fp32 block tests); a flip touches one token's row of a tensor
  expectFewFlips("A4 block y", s, yg, ref.y, 0.05, 2e-2);
  expectFewFlips("A4 block dx", s, td.download({ ptr: ws.p("dx"), n: d.T * d.D }), rg.dx!, 0.05, 2e-2);
  expectFewFlips("A4 block d inputNorm", s, td.download(ng.inputNorm), rg.inputNorm!, 0.05, 2e-2);
  expectFewFlips("A4 block d postNorm", s, td.download(ng.postNorm), rg.postNorm, 0.05, 2e-2);
  const want = new Map<string, Float32Array>([["q", rg.q], ["k", rg.k], ["v", rg.v], ["o", rg.o], ["mlp.gate", rg.mlp!.gate], ["mlp.up", rg.mlp!.up], ["mlp.down", rg.mlp!.down]]);
  for (const key of linearKeys(w)) expectFewFlips(`A4 block dW ${key}`, s, grads.get(key)!, want.get(key)!, 0.05, 2e-2);
  ws.dispose();
  td.free(bx, bdy, y, ng.inputNorm, ng.postNorm, ...bufs);
});

function slotsFor(d: BlockDims): LinearSlot[] {
  const { D, H, KH, Dh, F } = d;
  const mk = (module: string, rows: number, cols: number, key: "q" | "k" | "v" | "o" | "gate" | "up" | "down"): LinearSlot => {
    const dense = key === "q" || key === "k" || key === "v" || key === "o";
    return {
      module, rows, cols,
      get: (w) => (dense ? w[key] : w.mlp![key]),
      set: (w, v) => { if (dense) w[key] = v; else w.mlp = { ...w.mlp!, [key]: v }; },
      grad: (g) => (dense ? g[key] : g.mlp?.[key]),
    };
  };
  return [mk("q", H * Dh, D, "q"), mk("k", KH * Dh, D, "k"), mk("v", KH * Dh, D, "v"), mk("o", D, H * Dh, "o"), mk("gate", F, D, "gate"), mk("up", F, D, "up"), mk("down", D, F, "down")];
}

for (const abits of [undefined, 4] as const) {
  test(`LET + LWC gradients on the device vs let-step.ts layerGrads (W4 g32, ${abits ? "A4" : "activations fp"}; transform and Ŵ bit for bit)`, opts, async () => {
    const td = await trainDevice();
    const s = seed();
    const d: BlockDims = { ...dimsA4, abits };
    const fp = randomBlock(s, d);
    const slots = slotsFor(d);
    const spec = { bits: 4, groupSize: 32, sym: false };
    const lwcs = slots.map((sl, i) => {
      const q = new Lwc(sl.module, sl.rows, sl.cols, spec);
      q.gamma.set(Float32Array.from(randn(q.gamma.length, s + 200 + i), (v) => 2.5 + v));
      q.beta.set(Float32Array.from(randn(q.beta.length, s + 300 + i), (v) => 2.5 + v));
      return q;
    });
    const KV = d.KH * d.Dh;
    const pos = (n: number, k: number) => Float32Array.from(randn(n, s + k, 0.3), (v) => Math.exp(v));
    const p: LetParams = { qkv: pos(d.D, 1), fc1: pos(d.D, 2), out: pos(KV, 3), qkt: pos(KV, 4) };
    p.qkv[3] = 0.004; // truncated to 1e-2
    p.out[5] = -0.002; // truncated to −1e-2
    const pDev: LetParams = { qkv: p.qkv.slice(), fc1: p.fc1.slice(), out: p.out.slice(), qkt: p.qkt.slice() };
    // CPU oracle
    const qb = quantizeBlock(fp, slots, lwcs, d, p);
    const x = randn(d.T * d.D, s + 400), dy = randn(d.T * d.D, s + 401, 0.1);
    const ref = await block_forward(x, qb.qw, d);
    const rg = await block_backward(dy, ref.cache, qb.qw, d, true);
    const want = layerGrads(rg, qb, fp, slots, lwcs, d, p);
    // device
    const { dw: fpW, bufs } = uploadBlock(td, fp);
    const dl = new DevLet(td, d, fpW, pDev);
    dl.truncateAndTransform();
    const read = (ptr: number, n: number) => td.download({ ptr, n });
    const keys = linearKeys(fp);
    const twPtr = (key: string) => (key.startsWith("mlp.") ? dl.tw.mlp![key.slice(4) as "gate"] : dl.tw[key as "q"]);
    for (const [i, key] of keys.entries()) {
      const sl = slots[i]!;
      assert.equal(bitsDiffer(read(twPtr(key), sl.rows * sl.cols), sl.get(qb.tw)), 0, `transformed ${key} differs from letTransform`);
    }
    assert.equal(bitsDiffer(read(dl.tw.inputNorm, d.D), qb.tw.inputNorm), 0, "transformed inputNorm");
    assert.equal(bitsDiffer(read(dl.tw.postNorm, d.D), qb.tw.postNorm), 0, "transformed postNorm");
    const st = keys.map((key, i) => {
      const q = lwcs[i]!;
      const shape: LwcShape = { groups: q.gamma.length, g: q.g, bits: 4, sym: false };
      const sl = slots[i]!;
      const o = { key, shape, w: twPtr(key), wq: td.alloc(sl.rows * sl.cols), mx: td.alloc(shape.groups), mn: td.alloc(shape.groups), ga: td.upload(q.gamma), be: td.upload(q.beta), dg: td.alloc(shape.groups), db: td.alloc(shape.groups) };
      lwcRanges(td, shape, o.w, o.mx.ptr, o.mn.ptr);
      lwcForward(td, shape, o.wq.ptr, o.w, o.mx.ptr, o.mn.ptr, o.ga.ptr, o.be.ptr);
      assert.equal(bitsDiffer(td.download(o.wq), sl.get(qb.qw)), 0, `Ŵ ${key} differs`);
      return o;
    });
    const byKey = new Map(st.map((o) => [o.key, o]));
    const qW = mapLinears(dl.tw, (key) => byKey.get(key)!.wq.ptr);
    const ws = new BlockWorkspace(td, d, true);
    const [bx, bdy, y] = [td.upload(x), td.upload(dy), td.alloc(d.T * d.D)];
    blockForward(ws, qW, bx.ptr, y.ptr, abits !== undefined);
    dl.zeroGrads();
    blockBackward(ws, qW, bdy.ptr, (key, dwq) => {
      const o = byKey.get(key)!;
      lwcBackward(td, o.shape, o.dg.ptr, o.db.ptr, dwq, o.w, o.mx.ptr, o.mn.ptr, o.ga.ptr, o.be.ptr);
      if (key !== "mlp.down") {
        lwcInputGrad(td, o.shape, dl.dT.ptr, dwq, o.w, o.mx.ptr, o.mn.ptr, o.ga.ptr, o.be.ptr);
        dl.linearGrad(key, dl.dT.ptr);
      }
    }, { wantDx: true, normGrads: { inputNorm: dl.normG.ptr, postNorm: dl.normG.ptr + d.D * 4 } });
    dl.finishGrads();
    const got = dl.grads();
    const tag = abits ? "A4" : "fp acts";
    const check = (op: string, g: Float32Array, w: Float32Array) => (abits ? expectFewFlips(op, s, g, w, 0.05, 2e-2) : expectClose(op, s, g, w, { relMax: 2e-4, relL2: 2e-5 }));
    check(`LET ${tag} y`, td.download(y), ref.y);
    for (const k of LET_KEYS) check(`LET ${tag} d${k}`, got[k], want.let![k]);
    st.forEach((o, i) => {
      check(`LET ${tag} dγ ${o.key}`, td.download(o.dg), want.lwc[2 * i]!);
      check(`LET ${tag} dβ ${o.key}`, td.download(o.db), want.lwc[2 * i + 1]!);
    });
    // the device truncated its copy exactly as truncateLet did the host's
    dl.read(pDev);
    for (const k of LET_KEYS) assert.equal(bitsDiffer(pDev[k], p[k]), 0, `truncated ${k}`);
    ws.dispose();
    dl.dispose();
    for (const o of st) td.free(o.wq, o.mx, o.mn, o.ga, o.be, o.dg, o.db);
    td.free(bx, bdy, y, ...bufs);
  });
}

test("llama-t W4A4 --let end to end: runOmniQuant on cuda vs cpu (per-channel W4, A4, 8 × 128 windows, 2 epochs) → MSE, ppl", opts, () => e2e(true));

// LWC + A4 without LET: the CPU control (bench/omniquant-perturbation.ts --w4a4 --no-let, embeddings × (1 + 2⁻²³)) moves
// the clip logits by mean |Δ| ≤ 1.6e-7 in every layer (movement 7e-2) and the ppl by 0.05 % (67.144 → 67.109). cuda vs
// cpu differs in the summation order of every GEMM, not in one input, and A4 has only 16 levels: an activation that
// lands on the other side of a rounding boundary moves by a whole step. On the H100 layer 0 agreed to 5.0e-8 of a
// movement of 7.6e-2, layer 1 to 6.8e-4 of 6.7e-2, then layers 2 / 3 drifted to 8.97e-3 / 1.64e-2 (13 % / 24 % of the
// movement) with their MSEs within 0.5 % and the ppl within 0.06 % (67.144 vs 67.186). The block-level parity (A4
// forward/backward and LET + LWC gradients above: 0 flips, ≤ 1.3e-6) is the strict check; here layer 0 keeps the
// weight-only bound (5 %), later layers get 40 % of the movement, and MSE (1 %) and ppl (0.5 %) bound the outcome.
test("llama-t W4A4 LWC only (--abits 4, no LET) end to end: cuda vs cpu → γ/β, MSE, ppl", opts, () => e2e(false));

async function e2e(withLet: boolean): Promise<void> {
  await cudaOps();
  const tmp = mkdtempSync(join(tmpdir(), "memc-oq-let-gpu-"));
  const calib = "fixtures/text/english-sample.txt";
  const ckpt = await openCheckpoint("fixtures/llama-t");
  try {
    const base: OmniQuantOptions = { wbits: 4, groupSize: -1, sym: false, calib, nsamples: 8, seqlen: 128, epochs: 2, seed: 2, lwcLr: 1e-2, abits: 4, let: withLet };
    const t0 = performance.now();
    const cpu = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "cpu.state") }, silent);
    const t1 = performance.now();
    const gpu = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "gpu.state"), device: "cuda" }, silent);
    const t2 = performance.now();
    const tag0 = withLet ? "W4A4 LET" : "W4A4 LWC";
    console.log(`llama-t ${tag0}: cpu ${((t1 - t0) / 1000).toFixed(1)} s, cuda ${((t2 - t1) / 1000).toFixed(1)} s`);
    const open = (dir: string) => BlockCheckpoints.open<unknown>(dir, JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).fingerprint as string);
    const [sc, sg] = [await open(join(tmp, "cpu.state")), await open(join(tmp, "gpu.state"))];
    for (let li = 0; li < ckpt.spec.layers; li++) {
      const [pc, pg] = [(await sc.load(li)).params, (await sg.load(li)).params];
      assert.deepEqual([...pg.keys()].sort(), [...pc.keys()].sort(), `layer ${li}: saved parameter names`);
      // LET: |s| as the yardstick; LWC: how far training moved γ, β from their init 4
      let sumD = 0, sumRef = 0, nl = 0;
      for (const [name, a] of pc) {
        if (withLet !== name.startsWith("let.")) continue;
        const b = pg.get(name)!;
        for (let i = 0; i < a.length; i++) { sumD += Math.abs(a[i]! - b[i]!); sumRef += Math.abs(a[i]! - (withLet ? 0 : 4)); nl++; }
      }
      const [lc, lg] = [cpu.layers[li]!, gpu.layers[li]!];
      const msg = `layer ${li}: mse before ${lc.lossBefore.toExponential(4)} / ${lg.lossBefore.toExponential(4)}, after ${lc.lossAfter.toExponential(4)} / ${lg.lossAfter.toExponential(4)} (cpu / cuda); ${withLet ? "LET" : "γ/β"} mean |Δ| ${(sumD / nl).toExponential(2)} of mean ${withLet ? "|s|" : "movement"} ${(sumRef / nl).toExponential(2)}`;
      console.log(msg);
      measured.push({ op: `e2e ${tag0} layer ${li}`, seed: 0, err: msg });
      // Layer 0 sees identical inputs and the same LET init: its training must agree closely (H100: 1.5e-7 of |s|; a wrong
      // LET or act-quant gradient moves the scales by ~let_lr per step, i.e. ≥ 1e-3). Later layers are chaotic — the
      // control (bench/omniquant-perturbation.ts --w4a4, CPU only, embeddings × (1 + 2⁻²³)) moves layers 2 / 3 by mean
      // |Δ| 4.4e-3 / 1.8e-2 (LWC + LET together, 81 / 95 % of them by > 1e-3) — so only the mean is bounded there.
      const mseTol = li === 0 ? 1e-3 : withLet ? 3e-2 : 1e-2;
      // without LET: the weight-only test's bound (5 % of the movement; omniquant-train.test.ts), every layer
      const parTol = !withLet ? (li === 0 ? 0.05 : 0.4) : li === 0 ? 1e-5 : 0.02;
      assert.ok(Math.abs(lc.lossBefore - lg.lossBefore) <= mseTol * lc.lossBefore, `layer ${li} mse before`);
      assert.ok(Math.abs(lc.lossAfter - lg.lossAfter) <= mseTol * lc.lossAfter, `layer ${li} mse after`);
      assert.ok(sumD <= parTol * sumRef, `layer ${li}: parameters differ by ${(sumD / nl).toExponential(2)} on average (> ${parTol} of ${(sumRef / nl).toExponential(2)})`);
    }
    const rawConfig = { ...ckpt.rawConfig, [ACT_QUANT_KEY]: actQuantConfig(4) };
    const ppl = await cpuCudaPpl(ckpt, tmp, [cpu, gpu], calib, rawConfig);
    assert.deepEqual([...gpu.weights.keys()].sort(), [...cpu.weights.keys()].sort(), "the cuda run writes the same tensors (Linears, + both norms per layer with LET)");
    console.log(`ppl ${tag0} (english-sample, 16 × 256): cpu ${ppl[0]!.toFixed(4)} cuda ${ppl[1]!.toFixed(4)}`);
    measured.push({ op: `e2e ${tag0} ppl`, seed: 0, err: `cpu ${ppl[0]!.toFixed(4)} cuda ${ppl[1]!.toFixed(4)}` });
    // LET control (same bench): the one-ulp perturbation alone moves this ppl by 0.64 % (66.988 → 67.418); H100 cuda vs
    // cpu: 66.988 vs 67.428 (0.66 %). Bound 1.5 %. Without LET the control moves it by 0.05 %: bound 0.5 %.
    const pplTol = withLet ? 1.5e-2 : 5e-3;
    assert.ok(Math.abs(ppl[0]! - ppl[1]!) <= pplTol * ppl[0]!, `ppl cpu ${ppl[0]} vs cuda ${ppl[1]}: not within ${pplTol}`);
  } finally {
    await ckpt.weights.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

test("cuda W4A4 --let run killed after 2 layers and resumed on cuda: same final weights and norms as an uninterrupted run", opts, async () => {
  await cudaOps();
  const tmp = mkdtempSync(join(tmpdir(), "memc-oq-let-gpu-resume-"));
  const ckpt = await openCheckpoint("fixtures/llama-t");
  try {
    const base: OmniQuantOptions = { wbits: 4, groupSize: 32, sym: false, calib: "fixtures/text/english-sample.txt", nsamples: 4, seqlen: 64, epochs: 1, seed: 2, lwcLr: 1e-2, abits: 4, let: true, device: "cuda" };
    const { full, resumed } = await cutAndResume(ckpt, tmp, base);
    assert.ok([...full.weights.keys()].some((n) => n.endsWith("post_attention_layernorm.weight")), "norms are written");
    for (const [n, w] of full.weights) assert.deepEqual(resumed.weights.get(n), w, `${n} differs after resume`);
  } finally {
    await ckpt.weights.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

after(() => {
  for (const m of measured) console.log(`${m.op.padEnd(48)} seed ${String(m.seed).padEnd(11)} ${m.err}`);
});
