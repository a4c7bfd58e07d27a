// OmniQuant's per-layer LWC training loop on one CUDA device (the device side of run.ts's layer loop, OpenGVLab/OmniQuant
// quantize/omniquant.py): the three activation streams (fp inputs, quantized-input stream, fp targets) stay resident on
// the device for the whole run; per layer only that layer's fp weights, its Ŵ, the LWC parameters and AdamW moments are
// added. Step = LWC forward of every Linear → block forward on the quant stream → MSE vs the fp target → block backward
// → LWC backward per Linear → AdamW; the same math as the CPU path (src/nn/train + lwc.ts + adamw.ts).
// Weight-activation mode (run.ts with --abits / --let, Llama only): dims.abits fake-quantizes activations in the
// quantized forward (src/nn/train/cuda/block.ts); with LET the step starts with truncate + transform of the fp weights
// and norms (src/nn/train/cuda/let.ts), LWC quantizes the transformed Linears, and the backward chains LWC's input
// gradient into the LET gradients (let-step.ts layerGrads); LET params are their own AdamW group (let_lr). The LET init
// uses the fp stream's activation maxima gathered on the device during the fp-target pass, then let.ts initLet.
// bf16 GEMM mode: lwc_fwd writes Ŵ straight to a bf16 copy per Linear (registered with TrainDevice.setBf16Weight, so the
// GEMMs read it without casting); during training only that copy is written, the fp32 Ŵ only by the final quantize.
// Without LET the dW GEMMs then write bf16 (torch autocast's backward GEMMs give half-precision dW too) for lwc_bwd,
// and a W that is bf16-valued (checked on the device) is read by lwc_fwd / lwc_bwd from an exact bf16 copy.

import type { CudaDevice } from "../../runtime/cuda/device.js";
import type { DevicePtr } from "../../runtime/cuda/ffi/driver.js";
import { i32, i64, NULL_PTR, ptr, TrainDevice, type Bf16Tuning, type Buf, type TrainGemmMode } from "../../nn/train/cuda/context.js";
import { BlockWorkspace, blockBackward, blockForward } from "../../nn/train/cuda/block.js";
import { adamwStep, lwcBackward, lwcForward, lwcInputGrad, lwcRanges, lwcWeightBf16, type LwcShape } from "../../nn/train/cuda/lwc.js";
import { DevActMaxima, DevLet } from "../../nn/train/cuda/let.js";
import { initLet, LET_KEYS, type LetParams } from "./let.js";
import { linearKeys, linearPtr, mapLinears, uploadBlock } from "../../nn/train/cuda/weights.js";
import type { BlockDims, BlockWeights } from "../../nn/train/block.js";
import type { LinearSlot } from "./block-weights.js";
import type { Lwc } from "./lwc.js";

export interface CudaLayerResult {
  lossBefore: number;
  lossAfter: number;
  epochLoss: number[];
  /** Ŵ per slot (when asked) */
  weights?: Float32Array[];
  /** with LET (when weights are asked): the transformed input and post-attention norms */
  norms?: [Float32Array, Float32Array];
  /** ms spent in the training steps (device-synchronised at the end of the layer) */
  trainMs: number;
  /** ms spent in the 3 forward-only passes over the windows (fp targets, MSE before, MSE after + advance) */
  forwardMs: number;
  steps: number;
}

export interface CudaLayerArgs {
  fp: BlockWeights;
  slots: LinearSlot[];
  /** host quantizers: their γ, β seed the device copy (init or restored) and receive the trained values */
  lwcs: Lwc[];
  /** γ, β restored from the resume state: skip training, only quantize and advance the streams */
  restored: boolean;
  epochs: number;
  lr: number;
  wantWeights: boolean;
  /** --aug_loss: add MSE against the fp layer applied to the quantized inputs (an extra target stream while training) */
  augLoss?: boolean;
  /** LET: p holds the init (overwritten from the fp stream's activation maxima when init) or the restored values, and
   *  receives the trained (truncated) values */
  let?: { p: LetParams; init: boolean; lr: number; alpha: number };
  onStep?: (epoch: number, window: number, lastEpochLoss: number | undefined) => void;
  /** benchmark hook: when given, every step's phases are timed with CUDA events (synchronising, so slower) and
   *  their ms summed here by phase name */
  profile?: Map<string, number>;
}

interface SlotState {
  key: string;
  shape: LwcShape;
  w: DevicePtr;
  wq: Buf;
  /** bf16 mode: Ŵ in bf16 (the GEMM operand) */
  wq16?: Buf;
  /** bf16 mode without LET, when W is bf16-valued (a bf16 checkpoint): W's exact bf16 copy, read by the LWC kernels */
  w16?: Buf;
  mx: Buf;
  mn: Buf;
  /** offsets (elements) of γ and β in the layer's parameter buffer; β follows γ */
  off: number;
  /** AdamW steps this slot has taken (per parameter, as torch counts: an expert no token reached skips the step) */
  steps: number;
}

export class CudaLayerTrainer {
  readonly td: TrainDevice;
  private fpIn: Buf[] = [];
  private qIn: Buf[] = [];
  private fpOut: Buf[] = [];
  private readonly y: Buf;
  private readonly dy: Buf;
  private readonly loss: Buf; // doubles: 2 floats per window
  private readonly ws: BlockWorkspace;
  private readonly n: number;

  constructor(dev: CudaDevice, readonly dims: BlockDims, inputs: Float32Array[], dense: boolean, gemm: TrainGemmMode = "fp32", tune: Bf16Tuning = {}) {
    this.td = new TrainDevice(dev, gemm, tune);
    const td = this.td;
    this.n = dims.T * dims.D;
    for (const x of inputs) {
      if (x.length !== this.n) throw new Error(`CudaLayerTrainer: window of ${x.length} values, want ${this.n}`);
      this.fpIn.push(td.upload(x));
      this.qIn.push(td.upload(x));
      this.fpOut.push(td.alloc(this.n));
    }
    this.y = td.alloc(this.n);
    this.dy = td.alloc(this.n);
    this.loss = td.alloc(2 * Math.max(1, inputs.length));
    this.ws = new BlockWorkspace(td, dims, dense);
  }

  get windows(): number {
    return this.fpIn.length;
  }

  /** Σ over windows of mean-square error, per window (host), from the device double accumulators */
  private readLosses(count: number): number[] {
    const raw = new Float64Array(count);
    this.td.dev.allocator.copyOut(raw, this.loss.ptr);
    return Array.from(raw, (s) => s / this.n);
  }

  /** loss[slot] += Σ (y − t)²; dy = 2(y − t)/n, or dy += that with accumulate (the --aug_loss second term) */
  private mse(y: DevicePtr, t: DevicePtr, slot: number, dy: DevicePtr, accumulate = false): void {
    this.td.elementwise("train_elementwise.cu", "mse_grad", this.n, [ptr(dy), ptr(this.loss.ptr + slot * 8), ptr(y), ptr(t), i64(this.n), i32(accumulate ? 1 : 0)]);
  }

  async layer(a: CudaLayerArgs): Promise<CudaLayerResult> {
    const { td, ws } = this;
    const N = this.windows;
    const { dw: fpW, bufs } = uploadBlock(td, a.fp);
    const keys = linearKeys(a.fp);
    if (keys.length !== a.slots.length) throw new Error(`CudaLayerTrainer: ${keys.length} device linears vs ${a.slots.length} slots`);
    // fp targets from the fp stream
    td.sync();
    let forwardMs = 0;
    const timed = <T>(body: () => T): T => {
      const t = performance.now();
      const r = body();
      td.sync();
      forwardMs += performance.now() - t;
      return r;
    };
    const act = this.dims.abits !== undefined;
    const maxima = a.let?.init ? new DevActMaxima(td, this.dims) : undefined;
    timed(() => {
      for (let j = 0; j < N; j++) {
        blockForward(ws, fpW, this.fpIn[j]!.ptr, this.fpOut[j]!.ptr);
        maxima?.add(ws.p("n1"), ws.p("att"), ws.p("n2"));
      }
    });
    // --aug_loss targets: the fp layer on the quantized inputs (omniquant.py fp_inps_2), only while training
    const aug = a.augLoss && !a.restored ? Array.from({ length: N }, () => td.alloc(this.n)) : [];
    if (aug.length) timed(() => { for (let j = 0; j < N; j++) blockForward(ws, fpW, this.qIn[j]!.ptr, aug[j]!.ptr); });
    if (a.let && maxima) {
      const init = initLet(a.fp, maxima.read(), this.dims, a.let.alpha);
      for (const k of LET_KEYS) a.let.p[k].set(init[k]);
    }
    const dl = a.let ? new DevLet(td, this.dims, fpW, a.let.p) : undefined;
    // LWC quantizes the transformed Linears under LET (down_proj is the fp one there)
    const base = dl ? dl.tw : fpW;

    // LWC state: parameters [γ0 β0 γ1 β1 …] in one buffer, gradients and moments alike
    let total = 0;
    const lp = td.mode === "bf16";
    // bf16 mode without LET: the dW GEMMs write bf16 and lwc_bwd reads it (LET's input-gradient chain keeps fp32 dW)
    const dw16 = lp && !dl && td.tune.dwBf16 !== false;
    // bf16 mode without LET (W fixed for the layer): the LWC kernels may read W from an exact bf16 copy
    const wCopy = lp && !dl;
    const slots: SlotState[] = a.slots.map((s, i) => {
      const q = a.lwcs[i]!;
      // Lwc.groups counts groups per row; the device works on all rows·groups at once
      const shape: LwcShape = { groups: q.gamma.length, g: q.g, bits: q.spec.bits, sym: q.spec.sym };
      if (q.rows !== s.rows || q.cols !== s.cols || shape.groups * q.g !== s.rows * s.cols) throw new Error(`${s.module}: LWC shape mismatch`);
      const st: SlotState = { key: keys[i]!, shape, w: linearPtr(base, keys[i]!), wq: td.alloc(s.rows * s.cols), mx: td.alloc(shape.groups), mn: td.alloc(shape.groups), off: total, steps: 0 };
      if (lp) {
        st.wq16 = td.alloc(Math.ceil((s.rows * s.cols) / 2));
        td.setBf16Weight(st.wq.ptr, st.wq16.ptr);
      }
      total += 2 * shape.groups;
      if (!dl) lwcRanges(td, shape, st.w, st.mx.ptr, st.mn.ptr);
      return st;
    });
    if (wCopy) {
      // W from a bf16 checkpoint is bf16-valued: the LWC kernels then read an exact half-size copy
      const flags = td.zeros(slots.length);
      slots.forEach((s, i) => {
        s.w16 = td.alloc(Math.ceil((s.shape.groups * s.shape.g) / 2));
        lwcWeightBf16(td, s.w16.ptr, s.w, s.shape.groups * s.shape.g, flags.ptr + i * 4);
      });
      const inexact = new Uint32Array(slots.length);
      td.dev.allocator.copyOut(inexact, flags.ptr);
      td.free(flags);
      slots.forEach((s, i) => { if (inexact[i]) { td.free(s.w16); s.w16 = undefined; } });
    }
    const params = new Float32Array(total);
    slots.forEach((s, i) => { params.set(a.lwcs[i]!.gamma, s.off); params.set(a.lwcs[i]!.beta, s.off + s.shape.groups); });
    const P = td.upload(params);
    const G = td.zeros(total);
    const M = td.zeros(total);
    const V = td.zeros(total);
    const at = (b: Buf, off: number) => b.ptr + off * 4;
    // final: also the fp32 Ŵ (bf16 mode writes only the bf16 copy while training)
    const quantize = (final = false) => {
      if (dl) {
        // smooth_and_quant_temporary: truncate, transform, then the (moved) group ranges
        dl.truncateAndTransform();
        for (const s of slots) lwcRanges(td, s.shape, s.w, s.mx.ptr, s.mn.ptr);
      }
      for (const s of slots) lwcForward(td, s.shape, final || !lp ? s.wq.ptr : NULL_PTR, s.w, s.mx.ptr, s.mn.ptr, at(P, s.off), at(P, s.off + s.shape.groups), s.wq16?.ptr ?? NULL_PTR, s.w16?.ptr ?? NULL_PTR);
    };
    const byKey = new Map(slots.map((s) => [s.key, s]));
    const qW = mapLinears(base, (key) => byKey.get(key)!.wq.ptr);

    const zeroLoss = () => td.dev.driver.memsetD32(this.loss.ptr, 0, 2 * N);
    const evalStream = (advance: boolean): number => {
      zeroLoss();
      for (let j = 0; j < N; j++) {
        blockForward(ws, qW, this.qIn[j]!.ptr, this.y.ptr, act);
        this.mse(this.y.ptr, this.fpOut[j]!.ptr, j, NULL_PTR);
        if (advance) td.copy(this.qIn[j]!, this.y);
      }
      return this.readLosses(N).reduce((x, y) => x + y, 0) / N;
    };

    let lossBefore = NaN;
    const epochLoss: number[] = [];
    let steps = 0;
    td.sync();
    const t0 = performance.now();
    const forwardBefore = forwardMs;
    if (!a.restored) {
      quantize();
      lossBefore = timed(() => evalStream(false));
      const opt = { lr: a.lr, wd: 0 };
      const hadGrad = new Set<SlotState>();
      for (let ep = 0; ep < a.epochs; ep++) {
        zeroLoss();
        for (let j = 0; j < N; j++) {
          const phase = (name: string, body: () => void) => {
            if (!a.profile) return body();
            a.profile.set(name, (a.profile.get(name) ?? 0) + td.dev.time(body));
          };
          phase("lwc forward", () => quantize());
          phase("block forward + mse", () => {
            blockForward(ws, qW, this.qIn[j]!.ptr, this.y.ptr, act);
            this.mse(this.y.ptr, this.fpOut[j]!.ptr, j, this.dy.ptr);
            if (aug.length) this.mse(this.y.ptr, aug[j]!.ptr, j, this.dy.ptr, true);
          });
          hadGrad.clear();
          phase("block backward + lwc backward", () => {
            dl?.zeroGrads();
            blockBackward(ws, qW, this.dy.ptr, (key, dwq) => {
              const s = byKey.get(key)!;
              hadGrad.add(s);
              lwcBackward(td, s.shape, at(G, s.off), at(G, s.off + s.shape.groups), dwq, s.w, s.mx.ptr, s.mn.ptr, at(P, s.off), at(P, s.off + s.shape.groups), dw16, s.w16?.ptr ?? NULL_PTR);
              if (dl && key !== "mlp.down") {
                // let-step.ts layerGrads: dL/dW' through the quantizer (Lwc.inputGrad), then letBackward's sums
                lwcInputGrad(td, s.shape, dl.dT.ptr, dwq, s.w, s.mx.ptr, s.mn.ptr, at(P, s.off), at(P, s.off + s.shape.groups));
                dl.linearGrad(key, dl.dT.ptr);
              }
            }, dl ? { wantDx: true, normGrads: { inputNorm: dl.normG.ptr, postNorm: dl.normG.ptr + this.dims.D * 4 } } : { dwBf16: dw16 });
            dl?.finishGrads();
          });
          steps++;
          // torch's AdamW: parameters without .grad are skipped, and each keeps its own step count
          phase("adamw", () => { for (const s of slots) if (hadGrad.has(s)) adamwStep(td, opt, ++s.steps, at(P, s.off), at(G, s.off), at(M, s.off), at(V, s.off), 2 * s.shape.groups);
            dl?.step(a.let!.lr);
          });
          a.onStep?.(ep, j, epochLoss[ep - 1]);
        }
        const losses = this.readLosses(N);
        const mean = losses.reduce((x, y) => x + y, 0) / N;
        if (!Number.isFinite(mean)) throw new Error(`omniquant (cuda): epoch ${ep}: loss is ${mean}`);
        epochLoss.push(mean);
      }
      td.free(...aug);
      const trained = td.download(P);
      slots.forEach((s, i) => { a.lwcs[i]!.gamma.set(trained.subarray(s.off, s.off + s.shape.groups)); a.lwcs[i]!.beta.set(trained.subarray(s.off + s.shape.groups, s.off + 2 * s.shape.groups)); });
    }
    td.sync();
    // training steps only: the MSE-before pass inside this interval is counted in forwardMs
    const trainMs = performance.now() - t0 - (forwardMs - forwardBefore);
    // quantize in place and advance both streams
    quantize(true);
    const lossAfter = timed(() => evalStream(true));
    [this.fpIn, this.fpOut] = [this.fpOut, this.fpIn];
    const weights = a.wantWeights ? slots.map((s) => td.download(s.wq)) : undefined;
    // the final quantize truncated the scales: these are the values run.ts saves (as the CPU path does)
    if (dl && a.let) dl.read(a.let.p);
    const norms: [Float32Array, Float32Array] | undefined = dl && a.wantWeights ? [this.downloadPtr(dl.tw.inputNorm, this.dims.D), this.downloadPtr(dl.tw.postNorm, this.dims.D)] : undefined;
    dl?.dispose();
    for (const s of slots) {
      td.clearBf16Weight(s.wq.ptr);
      td.free(s.wq, s.wq16, s.w16, s.mx, s.mn);
    }
    td.free(P, G, M, V, ...bufs);
    ws.releaseMoe();
    return { lossBefore, lossAfter, epochLoss, trainMs, forwardMs, steps, ...(weights ? { weights } : {}), ...(norms ? { norms } : {}) };
  }

  private downloadPtr(p: DevicePtr, n: number): Float32Array {
    const out = new Float32Array(n);
    this.td.dev.allocator.copyOut(out, p);
    return out;
  }

  /** the quant stream (host copies; tests and diagnostics) */
  quantStream(): Float32Array[] {
    return this.qIn.map((b) => this.td.download(b));
  }

  /** frees the streams and the workspace; disposeDevice also releases the device (when this trainer opened it) */
  dispose(disposeDevice = false): void {
    this.ws.dispose();
    this.td.free(...this.fpIn, ...this.qIn, ...this.fpOut, this.y, this.dy, this.loss);
    this.fpIn = this.qIn = this.fpOut = [];
    if (disposeDevice) this.td.dev.dispose();
  }
}
