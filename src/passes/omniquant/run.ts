// OmniQuant block-wise reconstruction with LWC (OpenGVLab/OmniQuant quantize/omniquant.py): capture block-0 inputs,
// then per layer: fp targets = fp layer(fp inputs); train γ, β on MSE(fp target, layer_Ŵ(quant inputs)) for E epochs,
// batch 1 window per step in calibration order, AdamW; quantize the layer in place; quant inputs ← layer_Ŵ(quant inputs).
// Only one layer's weights plus the two activation streams are held. Per-layer state goes to a resume directory.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Checkpoint } from "../../model/checkpoint.js";
import { EMBED, quantizableLinears } from "../../model/names.js";
import { block_backward, block_forward, type BlockDims, type BlockWeights } from "../../nn/train/block.js";
import { BlockCheckpoints } from "../../pipeline/checkpoint.js";
import { loadCalibration } from "../../pipeline/calibration.js";
import type { Emit } from "../../util/events.js";
import { checkGroup, type QuantSpec } from "../rtn/quantize.js";
import { AdamW } from "./adamw.js";
import { blockDims, cloneBlock, loadBlock, type LinearSlot } from "./block-weights.js";
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

function mse(y: Float32Array, t: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i]! - t[i]!) ** 2;
  return s / y.length;
}

async function fingerprint(ckpt: Checkpoint, o: OmniQuantOptions): Promise<string> {
  const calib = createHash("sha256").update(await readFile(o.calib)).digest("hex").slice(0, 12);
  // explicit key order: the string is compared verbatim on resume
  const { wbits, groupSize, sym, nsamples, seqlen, epochs, seed, lwcLr } = o;
  return JSON.stringify({ method: "omniquant-lwc", model: resolve(ckpt.dir), calib, wbits, groupSize, sym, nsamples, seqlen, epochs, seed, lwcLr });
}

/** Fake-quantizes every slot of `w` (a clone) from the fp weights `fp` with the given quantizers. */
function applyLwc(fp: BlockWeights, w: BlockWeights, slots: LinearSlot[], lwcs: Lwc[]): void {
  slots.forEach((s, i) => s.set(w, lwcs[i]!.forward(s.get(fp))));
}

export async function runOmniQuant(ckpt: Checkpoint, o: OmniQuantOptions, emit: Emit): Promise<OmniQuantResult> {
  if (o.keepWeights === false && !o.stateDir) throw new Error("runOmniQuant: keepWeights false needs a stateDir to rebuild the weights from");
  const spec: QuantSpec = { bits: o.wbits, groupSize: o.groupSize, sym: o.sym };
  const dims: BlockDims = blockDims(ckpt, o.seqlen);
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
  const gpu = o.device === "cuda" ? await openCudaTrainer(ckpt, dims, fpIn, o.gemm) : undefined;
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
    if (o.stopAfterLayers !== undefined && trainedHere >= o.stopAfterLayers) return { weights, layers, resumed, calibTokens: o.nsamples * o.seqlen, complete: false };
    const t0 = performance.now();
    const { w: fp, slots } = await loadBlock(ckpt, li);
    const lwcs = slots.map((s) => new Lwc(s.module, s.rows, s.cols, spec));
    if (gpu) {
      const saved = state?.finished(li) ? await state.load(li) : undefined;
      if (saved) lwcs.forEach((q) => { q.gamma.set(saved.params.get(`${q.name}.gamma`)!); q.beta.set(saved.params.get(`${q.name}.beta`)!); });
      const r = await gpu.layer({
        fp, slots, lwcs, restored: saved !== undefined, epochs: o.epochs, lr: o.lwcLr, wantWeights: o.keepWeights !== false,
        onStep: (ep, j, last) => emit({ kind: "progress", task: `omniquant layer ${li + 1}/${L}`, done: ep * gpu.windows + j + 1, total: o.epochs * gpu.windows, unit: "steps", detail: `epoch ${ep + 1}/${o.epochs}${last === undefined ? "" : ` loss ${last.toExponential(3)}`}` }),
      });
      r.weights?.forEach((w, i) => weights.set(`${slots[i]!.module}.weight`, w));
      const report: LayerReport = saved ? saved.report : { layer: li, lossBefore: r.lossBefore, lossAfter: r.lossAfter, epochLoss: r.epochLoss, seconds: (performance.now() - t0) / 1000 };
      if (saved) resumed.push(li);
      else {
        if (state) await state.save(li, new Map(lwcs.flatMap((q) => [[`${q.name}.gamma`, q.gamma], [`${q.name}.beta`, q.beta]] as [string, Float32Array][])), report);
        trainedHere++;
      }
      layers.push(report);
      emit({ kind: "log", level: "info", message: `omniquant (cuda): layer ${li + 1}/${L} mse ${report.lossBefore.toExponential(3)} → ${report.lossAfter.toExponential(3)} (${report.seconds.toFixed(1)} s)` });
      continue;
    }
    const fpOut: Float32Array[] = [];
    for (const x of fpIn) fpOut.push((await block_forward(x, fp, dims)).y);
    const qw = cloneBlock(fp);
    let report: LayerReport;
    if (state?.finished(li)) {
      const saved = await state.load(li);
      lwcs.forEach((q) => { q.gamma.set(saved.params.get(`${q.name}.gamma`)!); q.beta.set(saved.params.get(`${q.name}.beta`)!); });
      report = saved.report;
      resumed.push(li);
      emit({ kind: "log", level: "info", message: `omniquant: layer ${li} restored from ${state.dir}` });
    } else {
      applyLwc(fp, qw, slots, lwcs);
      let before = 0;
      for (let j = 0; j < qIn.length; j++) before += mse((await block_forward(qIn[j]!, qw, dims)).y, fpOut[j]!);
      const params = lwcs.flatMap((q) => [q.gamma, q.beta]);
      const opt = new AdamW(params, o.lwcLr, 0);
      const epochLoss: number[] = [];
      for (let ep = 0; ep < o.epochs; ep++) {
        let sum = 0;
        for (let j = 0; j < qIn.length; j++) {
          applyLwc(fp, qw, slots, lwcs);
          const { y, cache } = await block_forward(qIn[j]!, qw, dims);
          const tgt = fpOut[j]!;
          const dy = new Float32Array(y.length);
          let loss = 0;
          for (let i = 0; i < y.length; i++) {
            const d = y[i]! - tgt[i]!;
            loss += d * d;
            dy[i] = (2 * d) / y.length;
          }
          loss /= y.length;
          if (!Number.isFinite(loss)) throw new Error(`omniquant: layer ${li} epoch ${ep} window ${j}: loss is ${loss}`);
          sum += loss;
          const g = await block_backward(dy, cache, qw, dims, false);
          const grads: (Float32Array | undefined)[] = [];
          slots.forEach((s, i) => {
            const dwq = s.grad(g);
            if (!dwq) { grads.push(undefined, undefined); return; }
            const dg = new Float32Array(lwcs[i]!.gamma.length);
            const db = new Float32Array(lwcs[i]!.beta.length);
            lwcs[i]!.backward(s.get(fp), dwq, dg, db);
            grads.push(dg, db);
          });
          opt.step(grads);
          emit({ kind: "progress", task: `omniquant layer ${li + 1}/${L}`, done: ep * qIn.length + j + 1, total: o.epochs * qIn.length, unit: "steps", detail: `epoch ${ep + 1}/${o.epochs} loss ${loss.toExponential(3)}` });
        }
        epochLoss.push(sum / qIn.length);
      }
      report = { layer: li, lossBefore: before / qIn.length, lossAfter: NaN, epochLoss, seconds: 0 };
    }
    // quantize in place and advance both streams
    applyLwc(fp, qw, slots, lwcs);
    let after = 0;
    for (let j = 0; j < qIn.length; j++) {
      const y = (await block_forward(qIn[j]!, qw, dims)).y;
      after += mse(y, fpOut[j]!);
      qIn[j] = y;
    }
    fpIn = fpOut;
    if (o.keepWeights !== false) slots.forEach((s) => weights.set(`${s.module}.weight`, s.get(qw)));
    if (!resumed.includes(li)) {
      report.lossAfter = after / qIn.length;
      report.seconds = (performance.now() - t0) / 1000;
      if (state) await state.save(li, new Map(lwcs.flatMap((q) => [[`${q.name}.gamma`, q.gamma], [`${q.name}.beta`, q.beta]] as [string, Float32Array][])), report);
      trainedHere++;
    }
    layers.push(report);
    emit({ kind: "log", level: "info", message: `omniquant: layer ${li + 1}/${L} mse ${report.lossBefore.toExponential(3)} → ${report.lossAfter.toExponential(3)} (${report.seconds.toFixed(1)} s)` });
  }
  gpu?.dispose(true);
  return { weights, layers, resumed, calibTokens: o.nsamples * o.seqlen, complete: true };
}

async function openCudaTrainer(ckpt: Checkpoint, dims: BlockDims, inputs: Float32Array[], gemm: OmniQuantOptions["gemm"]) {
  const { CudaDevice } = await import("../../runtime/cuda/device.js");
  const { CudaLayerTrainer } = await import("./cuda-trainer.js");
  return new CudaLayerTrainer(CudaDevice.open(Number(process.env.MEMC_CUDA_DEVICE ?? 0)), dims, inputs, !ckpt.spec.moe, gemm ?? "fp32");
}

/** Rebuilds the fake-quantized weight `name` (model.layers.N.….weight) from the fp checkpoint and the γ, β that a
 *  finished run saved in o.stateDir; `cache` keeps the last layer's parameters between calls. */
export async function quantizedTensor(ckpt: Checkpoint, o: OmniQuantOptions, name: string, cache: { layer?: number; params?: Map<string, Float32Array> } = {}): Promise<Float32Array> {
  const m = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(name);
  if (!m || !o.stateDir) throw new Error(`quantizedTensor: ${name} is not a decoder-layer weight, or no state dir`);
  const layer = Number(m[1]);
  if (cache.layer !== layer) {
    const state = await BlockCheckpoints.open<LayerReport>(o.stateDir, await fingerprint(ckpt, o));
    cache.params = (await state.load(layer)).params;
    cache.layer = layer;
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
