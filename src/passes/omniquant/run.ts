// OmniQuant block-wise reconstruction with LWC (OpenGVLab/OmniQuant quantize/omniquant.py): capture block-0 inputs,
// then per layer: fp targets = fp layer(fp inputs); train γ, β on MSE(fp target, layer_Ŵ(quant inputs)) for E epochs,
// batch 1 window per step in calibration order, AdamW; quantize the layer in place; quant inputs ← layer_Ŵ(quant inputs).
// Only one layer's weights plus the two activation streams are held. Per-layer state goes to a resume directory.
// Weight-activation mode (--abits, --let): per-token activation fake-quant in the quantized forward (block.ts), LET
// scales initialised from the fp stream's activation maxima and trained jointly with LWC (AdamW param groups
// let_lr / lwc_lr, as omniquant.py), folded into the written weights and norms (let.ts, let-step.ts).

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Checkpoint } from "../../model/checkpoint.js";
import { EMBED, layerNames, quantizableLinears } from "../../model/names.js";
import { block_backward, block_forward, type BlockDims, type BlockWeights } from "../../nn/train/block.js";
import { BlockCheckpoints } from "../../pipeline/checkpoint.js";
import { calibrationFiles, loadCalibration } from "../../pipeline/calibration.js";
import type { Emit } from "../../util/events.js";
import { InputError } from "../../util/errors.js";
import { checkGroup, type QuantSpec } from "../rtn/quantize.js";
import { AdamW } from "./adamw.js";
import { blockDims, cloneBlock, loadBlock, type LinearSlot } from "./block-weights.js";
import { accumulateAbsMax, initLet, LET_KEYS, type LetParams } from "./let.js";
import { layerGrads, quantizeBlock } from "./let-step.js";
import { Lwc } from "./lwc.js";

export interface OmniQuantOptions {
  wbits: number;
  /** columns per group; -1 = per output row */
  groupSize: number;
  sym: boolean;
  calib: string;
  nsamples: number;
  seqlen: number;
  epochs: number;
  seed: number;
  lwcLr: number;
  /** activation bits (per-token dynamic asymmetric); undefined = weight-only */
  abits?: number;
  /** train LET scales (needs abits in the reference's scripts; allowed alone) */
  let?: boolean;
  letLr?: number;
  /** SmoothQuant migration strength of the LET init */
  alpha?: number;
  /** the reference's --aug_loss (its W2 scripts): the loss adds MSE against the fp layer applied to the quantized inputs */
  augLoss?: boolean;
  /** where per-layer state is kept for resume; none = no resume */
  stateDir?: string;
  /** test hook: behave as if killed after this many layers were finished in this run */
  stopAfterLayers?: number;
  /** false: do not keep Ŵ in memory (peak memory = one layer + activations); rebuild it per tensor with
   *  quantizedTensor() from the state dir while writing. Needs stateDir. Default true. */
  keepWeights?: boolean;
  /** where the layer training runs: cpu (src/nn/train, the oracle) or cuda (src/passes/omniquant/cuda-trainer.ts) */
  device?: "cpu" | "cuda";
  /** cuda only: GEMM precision (fp32 matches the CPU oracle; tf32/bf16 use tensor cores) */
  gemm?: "fp32" | "tf32" | "bf16";
}

export interface LayerReport {
  layer: number;
  /** mean MSE over the calibration windows, LWC at its init (σ(4) ≈ 0.982) and after training */
  lossBefore: number;
  lossAfter: number;
  /** mean training loss of each epoch */
  epochLoss: number[];
  seconds: number;
}

export interface OmniQuantResult {
  /** fake-quantized (dequantized) fp32 weights by tensor name, e.g. model.layers.0.self_attn.q_proj.weight */
  weights: Map<string, Float32Array>;
  layers: LayerReport[];
  /** layers restored from the resume directory instead of trained in this run */
  resumed: number[];
  calibTokens: number;
  complete: boolean;
}

/** Σ over targets of mean((y − t)²) and its gradient dy = Σ 2(y − t)/n (one target, or two with --aug-loss). */
export function mseLossAndGrad(y: Float32Array, targets: Float32Array[]): { loss: number; dy: Float32Array } {
  const dy = new Float32Array(y.length);
  let loss = 0;
  for (const t of targets) {
    let l = 0;
    for (let i = 0; i < y.length; i++) {
      const d = y[i]! - t[i]!;
      l += d * d;
      dy[i] = dy[i]! + (2 * d) / y.length;
    }
    loss += l / y.length;
  }
  return { loss, dy };
}

function mse(y: Float32Array, t: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i]! - t[i]!) ** 2;
  return s / y.length;
}

async function fingerprint(ckpt: Checkpoint, o: OmniQuantOptions): Promise<string> {
  // one file hashes as it always did (existing state dirs stay valid); a mix hashes its files in order
  const h = createHash("sha256");
  for (const [k, file] of calibrationFiles(o.calib).entries()) h.update(k === 0 ? await readFile(file) : Buffer.concat([Buffer.from([0]), await readFile(file)]));
  const calib = h.digest("hex").slice(0, 12);
  // explicit key order: the string is compared verbatim on resume
  const { wbits, groupSize, sym, nsamples, seqlen, epochs, seed, lwcLr } = o;
  const base = { method: "omniquant-lwc", model: resolve(ckpt.dir), calib, wbits, groupSize, sym, nsamples, seqlen, epochs, seed, lwcLr };
  // weight-only runs keep their old fingerprint (existing state dirs stay valid)
  const aug = o.augLoss ? { augLoss: true } : {};
  if (o.abits === undefined && !o.let) return JSON.stringify({ ...base, ...aug });
  return JSON.stringify({ ...base, abits: o.abits ?? null, let: o.let === true, letLr: o.let ? letLr(o) : null, alpha: o.let ? letAlpha(o) : null, ...aug });
}

const letLr = (o: OmniQuantOptions) => o.letLr ?? 5e-3;
const letAlpha = (o: OmniQuantOptions) => o.alpha ?? 0.5;

/** The norm tensors a LET run rewrites (layer i), besides the Linear weights. */
export function letNormNames(ckpt: Checkpoint, i: number): string[] {
  const n = layerNames(ckpt.spec, i);
  return [n.inputNorm, n.postNorm];
}

export async function runOmniQuant(ckpt: Checkpoint, o: OmniQuantOptions, emit: Emit): Promise<OmniQuantResult> {
  if (o.keepWeights === false && !o.stateDir) throw new Error("runOmniQuant: keepWeights false needs a stateDir to rebuild the weights from");
  const spec: QuantSpec = { bits: o.wbits, groupSize: o.groupSize, sym: o.sym };
  const dims: BlockDims = blockDims(ckpt, o.seqlen);
  const qdims: BlockDims = o.abits ? { ...dims, abits: o.abits } : dims;
  if ((o.let || o.abits) && ckpt.spec.moe) throw new InputError(`${ckpt.dir}: --let/--abits: the reference's Mixtral path is LWC only (weight-only)`);
  const L = ckpt.spec.layers;
  for (let i = 0; i < L; i++) {
    for (const m of quantizableLinears(ckpt.spec, i)) checkGroup(`${m}.weight`, ckpt.weights.info(`${m}.weight`).shape[1]!, o.groupSize);
  }
  const windows = await loadCalibration(ckpt.dir, o.calib, o.nsamples, o.seqlen, o.seed);
  const state = o.stateDir ? await BlockCheckpoints.open<LayerReport>(o.stateDir, await fingerprint(ckpt, o)) : undefined;

  // block-0 inputs: embedding rows of each window ([T, D] per window)
  const D = dims.D;
  const embed = await ckpt.weights.f32(EMBED);
  let fpIn: Float32Array[] = windows.map((ids) => {
    const x = new Float32Array(ids.length * D);
    ids.forEach((id, t) => x.set(embed.subarray(id * D, id * D + D), t * D));
    return x;
  });
  const qIn: Float32Array[] = fpIn.map((x) => Float32Array.from(x));
  // the CUDA trainer keeps the three streams on the device; the host arrays above are then unused
  const gpu = o.device === "cuda" ? await openCudaTrainer(ckpt, qdims, fpIn, o.gemm) : undefined;
  if (gpu) {
    fpIn = [];
    qIn.length = 0;
  }

  const weights = new Map<string, Float32Array>();
  const layers: LayerReport[] = [];
  const resumed: number[] = [];
  let trainedHere = 0;
  for (let li = 0; li < L; li++) {
    if (o.stopAfterLayers !== undefined && trainedHere >= o.stopAfterLayers) gpu?.dispose(true);
    if (o.stopAfterLayers !== undefined && trainedHere >= o.stopAfterLayers) return { weights, layers, resumed, calibTokens: windows.length * o.seqlen, complete: false };
    const t0 = performance.now();
    const { w: fp, slots } = await loadBlock(ckpt, li);
    const lwcs = slots.map((s) => new Lwc(s.module, s.rows, s.cols, spec));
    if (gpu) {
      const saved = state?.finished(li) ? await state.load(li) : undefined;
      if (saved) lwcs.forEach((q) => { q.gamma.set(saved.params.get(`${q.name}.gamma`)!); q.beta.set(saved.params.get(`${q.name}.beta`)!); });
      // LET: initialised on the device from the fp stream (or restored), trained, returned truncated, saved as let.*
      const letP: LetParams | undefined = o.let ? { qkv: new Float32Array(D), fc1: new Float32Array(D), out: new Float32Array(dims.KH * dims.Dh), qkt: new Float32Array(dims.KH * dims.Dh) } : undefined;
      if (letP && saved) for (const k of LET_KEYS) letP[k].set(saved.params.get(`let.${k}`)!);
      const r = await gpu.layer({
        fp, slots, lwcs, restored: saved !== undefined, epochs: o.epochs, lr: o.lwcLr, wantWeights: o.keepWeights !== false, augLoss: o.augLoss === true,
        ...(letP ? { let: { p: letP, init: !saved, lr: letLr(o), alpha: letAlpha(o) } } : {}),
        onStep: (ep, j, last) => emit({ kind: "progress", task: `omniquant layer ${li + 1}/${L}`, done: ep * gpu.windows + j + 1, total: o.epochs * gpu.windows, unit: "steps", detail: `epoch ${ep + 1}/${o.epochs}${last === undefined ? "" : ` loss ${last.toExponential(3)}`}` }),
      });
      r.weights?.forEach((w, i) => weights.set(`${slots[i]!.module}.weight`, w));
      if (r.norms) { const [n1, n2] = letNormNames(ckpt, li); weights.set(n1!, r.norms[0]); weights.set(n2!, r.norms[1]); }
      const report: LayerReport = saved ? saved.report : { layer: li, lossBefore: r.lossBefore, lossAfter: r.lossAfter, epochLoss: r.epochLoss, seconds: (performance.now() - t0) / 1000 };
      if (saved) resumed.push(li);
      else {
        const params = new Map(lwcs.flatMap((q) => [[`${q.name}.gamma`, q.gamma], [`${q.name}.beta`, q.beta]] as [string, Float32Array][]));
        if (letP) for (const k of LET_KEYS) params.set(`let.${k}`, letP[k]);
        if (state) await state.save(li, params, report);
        trainedHere++;
      }
      layers.push(report);
      emit({ kind: "log", level: "info", message: `omniquant (cuda): layer ${li + 1}/${L} mse ${report.lossBefore.toExponential(3)} → ${report.lossAfter.toExponential(3)} (${report.seconds.toFixed(1)} s)` });
      continue;
    }
    const fpOut: Float32Array[] = [];
    const act = o.let ? { n1: new Float32Array(D), att: new Float32Array(dims.H * dims.Dh), n2: new Float32Array(D) } : undefined;
    for (const x of fpIn) {
      const { y, cache } = await block_forward(x, fp, dims);
      fpOut.push(y);
      if (act) { accumulateAbsMax(act.n1, cache.n1); accumulateAbsMax(act.att, cache.attOut); accumulateAbsMax(act.n2, cache.n2); }
    }
    const letP: LetParams | undefined = act ? initLet(fp, act, dims, letAlpha(o)) : undefined;
    // --aug_loss: second target, the fp layer (no quantizers, no LET) on the quantized inputs (omniquant.py fp_inps_2)
    const fpOut2: Float32Array[] = [];
    if (o.augLoss && !state?.finished(li)) for (const x of qIn) fpOut2.push((await block_forward(x, fp, dims)).y);
    let qw = cloneBlock(fp);
    let report: LayerReport;
    if (state?.finished(li)) {
      const saved = await state.load(li);
      lwcs.forEach((q) => { q.gamma.set(saved.params.get(`${q.name}.gamma`)!); q.beta.set(saved.params.get(`${q.name}.beta`)!); });
      if (letP) for (const k of LET_KEYS) letP[k].set(saved.params.get(`let.${k}`)!);
      report = saved.report;
      resumed.push(li);
      emit({ kind: "log", level: "info", message: `omniquant: layer ${li} restored from ${state.dir}` });
    } else {
      qw = quantizeBlock(fp, slots, lwcs, dims, letP).qw;
      let before = 0;
      for (let j = 0; j < qIn.length; j++) before += mse((await block_forward(qIn[j]!, qw, qdims)).y, fpOut[j]!);
      const params = lwcs.flatMap((q) => [q.gamma, q.beta]);
      const opt = new AdamW(params, o.lwcLr, 0);
      const letOpt = letP ? new AdamW(LET_KEYS.map((k) => letP[k]), letLr(o), 0) : undefined;
      const epochLoss: number[] = [];
      for (let ep = 0; ep < o.epochs; ep++) {
        let sum = 0;
        for (let j = 0; j < qIn.length; j++) {
          const qb = quantizeBlock(fp, slots, lwcs, dims, letP);
          const { y, cache } = await block_forward(qIn[j]!, qb.qw, qdims);
          const { loss, dy } = mseLossAndGrad(y, o.augLoss ? [fpOut[j]!, fpOut2[j]!] : [fpOut[j]!]);
          if (!Number.isFinite(loss)) throw new Error(`omniquant: layer ${li} epoch ${ep} window ${j}: loss is ${loss}`);
          sum += loss;
          const g = await block_backward(dy, cache, qb.qw, qdims, letP !== undefined);
          const grads = layerGrads(g, qb, fp, slots, lwcs, dims, letP);
          opt.step(grads.lwc);
          if (letOpt && grads.let) letOpt.step(LET_KEYS.map((k) => grads.let![k]));
          emit({ kind: "progress", task: `omniquant layer ${li + 1}/${L}`, done: ep * qIn.length + j + 1, total: o.epochs * qIn.length, unit: "steps", detail: `epoch ${ep + 1}/${o.epochs} loss ${loss.toExponential(3)}` });
        }
        epochLoss.push(sum / qIn.length);
      }
      report = { layer: li, lossBefore: before / qIn.length, lossAfter: NaN, epochLoss, seconds: 0 };
    }
    // quantize in place (LET folded into the weights and norms) and advance both streams
    qw = quantizeBlock(fp, slots, lwcs, dims, letP).qw;
    let after = 0;
    for (let j = 0; j < qIn.length; j++) {
      const y = (await block_forward(qIn[j]!, qw, qdims)).y;
      after += mse(y, fpOut[j]!);
      qIn[j] = y;
    }
    fpIn = fpOut;
    if (o.keepWeights !== false) {
      slots.forEach((s) => weights.set(`${s.module}.weight`, s.get(qw)));
      if (letP) { const [n1, n2] = letNormNames(ckpt, li); weights.set(n1!, qw.inputNorm); weights.set(n2!, qw.postNorm); }
    }
    if (!resumed.includes(li)) {
      report.lossAfter = after / qIn.length;
      report.seconds = (performance.now() - t0) / 1000;
      const saved = new Map(lwcs.flatMap((q) => [[`${q.name}.gamma`, q.gamma], [`${q.name}.beta`, q.beta]] as [string, Float32Array][]));
      if (letP) for (const k of LET_KEYS) saved.set(`let.${k}`, letP[k]);
      if (state) await state.save(li, saved, report);
      trainedHere++;
    }
    layers.push(report);
    emit({ kind: "log", level: "info", message: `omniquant: layer ${li + 1}/${L} mse ${report.lossBefore.toExponential(3)} → ${report.lossAfter.toExponential(3)} (${report.seconds.toFixed(1)} s)` });
  }
  gpu?.dispose(true);
  return { weights, layers, resumed, calibTokens: windows.length * o.seqlen, complete: true };
}

async function openCudaTrainer(ckpt: Checkpoint, dims: BlockDims, inputs: Float32Array[], gemm: OmniQuantOptions["gemm"]) {
  const { CudaDevice } = await import("../../runtime/cuda/device.js");
  const { CudaLayerTrainer } = await import("./cuda-trainer.js");
  return new CudaLayerTrainer(CudaDevice.open(Number(process.env.MEMC_CUDA_DEVICE ?? 0)), dims, inputs, !ckpt.spec.moe, gemm ?? "fp32");
}

/** Rebuilds the fake-quantized weight `name` (model.layers.N.….weight) from the fp checkpoint and the γ, β that a
 *  finished run saved in o.stateDir; `cache` keeps the last layer's parameters between calls. */
export async function quantizedTensor(ckpt: Checkpoint, o: OmniQuantOptions, name: string, cache: { layer?: number; params?: Map<string, Float32Array>; tensors?: Map<string, Float32Array> } = {}): Promise<Float32Array> {
  const m = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(name);
  if (!m || !o.stateDir) throw new Error(`quantizedTensor: ${name} is not a decoder-layer weight, or no state dir`);
  const layer = Number(m[1]);
  if (cache.layer !== layer) {
    const state = await BlockCheckpoints.open<LayerReport>(o.stateDir, await fingerprint(ckpt, o));
    cache.params = (await state.load(layer)).params;
    cache.layer = layer;
    cache.tensors = o.let ? await letLayerTensors(ckpt, o, layer, cache.params) : undefined;
  }
  if (cache.tensors) {
    const t = cache.tensors.get(name);
    if (!t) throw new Error(`quantizedTensor: ${name} is not written by a LET run`);
    return t;
  }
  const module = name.slice(0, -".weight".length);
  const [rows, cols] = ckpt.weights.info(name).shape as [number, number];
  const q = new Lwc(module, rows, cols, { bits: o.wbits, groupSize: o.groupSize, sym: o.sym });
  const g = cache.params!.get(`${module}.gamma`);
  const b = cache.params!.get(`${module}.beta`);
  if (!g || !b) throw new Error(`${o.stateDir}: layer ${layer} has no LWC parameters for ${module}`);
  q.gamma.set(g);
  q.beta.set(b);
  return q.forward(await ckpt.weights.f32(name));
}

/** LET changes the Linears through the shared scales: rebuild the whole layer (transform + LWC) from saved params. */
async function letLayerTensors(ckpt: Checkpoint, o: OmniQuantOptions, layer: number, params: Map<string, Float32Array>): Promise<Map<string, Float32Array>> {
  const dims = blockDims(ckpt, o.seqlen);
  const { w: fp, slots } = await loadBlock(ckpt, layer);
  const lwcs = slots.map((s) => {
    const q = new Lwc(s.module, s.rows, s.cols, { bits: o.wbits, groupSize: o.groupSize, sym: o.sym });
    q.gamma.set(params.get(`${s.module}.gamma`)!);
    q.beta.set(params.get(`${s.module}.beta`)!);
    return q;
  });
  const p = Object.fromEntries(LET_KEYS.map((k) => [k, Float32Array.from(params.get(`let.${k}`)!)])) as unknown as LetParams;
  const { qw } = quantizeBlock(fp, slots, lwcs, dims, p);
  const out = new Map(slots.map((s) => [`${s.module}.weight`, s.get(qw)] as [string, Float32Array]));
  const [n1, n2] = letNormNames(ckpt, layer);
  out.set(n1!, qw.inputNorm);
  out.set(n2!, qw.postNorm);
  return out;
}
