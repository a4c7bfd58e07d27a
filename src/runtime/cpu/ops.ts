// CpuOps: the CPU backend. Element-wise work runs the plain-TS references; GEMMs, attention and the fused
// lm_head+NLL run through onnxruntime's fp32 CPU kernels (src/runtime/cpu/engine) — same math, ~100x faster.

import type { DeviceTensor, Ops, RoutingResult } from "../ops.js";
import { attentionF32, linearF32, nllF32, releaseEngine, swigluF32 } from "./engine/ort-engine.js";
import { actQuantRows } from "./reference/act-quant.js";
import { add, rmsnorm, rope, sigmoidGate } from "./reference/elementwise.js";
import { embedding, gatherRows, route, scatterAddRows } from "./reference/routing.js";

export class CpuTensor implements DeviceTensor {
  constructor(
    readonly data: Float32Array,
    readonly shape: readonly number[],
  ) {}
  get rows(): number {
    return this.shape[0]!;
  }
  get cols(): number {
    return this.shape.length > 1 ? this.shape[this.shape.length - 1]! : 1;
  }
}

const NLL_ROWS = 256;

const t = (data: Float32Array, shape: number[]) => new CpuTensor(data, shape);

export class CpuOps implements Ops<CpuTensor> {
  readonly device = "cpu";

  async upload(data: Float32Array, shape: number[]): Promise<CpuTensor> {
    return t(data, shape);
  }
  async download(x: CpuTensor): Promise<Float32Array> {
    return x.data;
  }
  free(): void {}

  async embedding(table: CpuTensor, ids: Int32Array): Promise<CpuTensor> {
    return t(embedding(table.data, table.cols, ids), [ids.length, table.cols]);
  }
  async actQuant(x: CpuTensor, rowLen: number, bits: number): Promise<CpuTensor> {
    if (x.cols % rowLen !== 0) throw new Error(`actQuant: rowLen ${rowLen} does not divide ${x.cols} columns`);
    return t(actQuantRows(x.data, rowLen, bits), [...x.shape]);
  }
  async rmsnorm(x: CpuTensor, w: CpuTensor, eps: number): Promise<CpuTensor> {
    return t(rmsnorm(x.data, w.data, x.rows, x.cols, eps), [x.rows, x.cols]);
  }
  async linear(x: CpuTensor, w: CpuTensor, bias?: CpuTensor): Promise<CpuTensor> {
    const [M, K, N] = [x.rows, x.cols, w.rows];
    const y = await linearF32(x.data, w.data, M, K, N);
    if (bias) for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) y[m * N + n] = y[m * N + n]! + bias.data[n]!;
    return t(y, [M, N]);
  }
  async rope(x: CpuTensor, heads: number, headDim: number, theta: number, windowLen: number): Promise<CpuTensor> {
    return t(rope(x.data, x.rows, heads, headDim, theta, windowLen), [x.rows, x.cols]);
  }
  async attention(q: CpuTensor, k: CpuTensor, v: CpuTensor, H: number, KH: number, Dh: number, L: number): Promise<CpuTensor> {
    const rows = q.rows;
    const out = new Float32Array(rows * H * Dh);
    const qh = new Float32Array(H * L * Dh);
    const kh = new Float32Array(H * L * Dh);
    const vh = new Float32Array(H * L * Dh);
    for (let w0 = 0; w0 < rows; w0 += L) {
      // [L, H·Dh] → [H, L, Dh], K/V heads repeated for their query-head group
      for (let h = 0; h < H; h++) {
        const g = Math.floor((h * KH) / H);
        for (let i = 0; i < L; i++) {
          const r = w0 + i;
          qh.set(q.data.subarray(r * H * Dh + h * Dh, r * H * Dh + (h + 1) * Dh), (h * L + i) * Dh);
          kh.set(k.data.subarray(r * KH * Dh + g * Dh, r * KH * Dh + (g + 1) * Dh), (h * L + i) * Dh);
          vh.set(v.data.subarray(r * KH * Dh + g * Dh, r * KH * Dh + (g + 1) * Dh), (h * L + i) * Dh);
        }
      }
      const o = await attentionF32(qh, kh, vh, H, L, Dh);
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < L; i++) out.set(o.subarray((h * L + i) * Dh, (h * L + i + 1) * Dh), (w0 + i) * H * Dh + h * Dh);
      }
    }
    return t(out, [rows, H * Dh]);
  }
  async swiglu(gate: CpuTensor, up: CpuTensor): Promise<CpuTensor> {
    return t(await swigluF32(gate.data, up.data), [...gate.shape]);
  }
  async add(a: CpuTensor, b: CpuTensor): Promise<CpuTensor> {
    return t(add(a.data, b.data), [...a.shape]);
  }
  async route(logits: CpuTensor, k: number, renormalize: boolean): Promise<RoutingResult> {
    return route(logits.data, logits.rows, logits.cols, k, renormalize);
  }
  async gatherRows(x: CpuTensor, rows: Int32Array): Promise<CpuTensor> {
    return t(gatherRows(x.data, x.cols, rows), [rows.length, x.cols]);
  }
  async scatterAddRows(out: CpuTensor, y: CpuTensor, rows: Int32Array, scale: Float32Array): Promise<void> {
    scatterAddRows(out.data, y.data, out.cols, rows, scale);
  }
  async sigmoidGate(x: CpuTensor, w: CpuTensor, y: CpuTensor): Promise<CpuTensor> {
    return t(sigmoidGate(x.data, w.data, y.data, x.rows, x.cols, y.cols), [y.rows, y.cols]);
  }
  async zeros(shape: number[]): Promise<CpuTensor> {
    return t(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  }
  async nll(h: CpuTensor, w: CpuTensor, targets: Int32Array): Promise<Float32Array> {
    // Row blocks keep the logits buffer at NLL_ROWS × vocab (8 MiB for vocab 8192), never [S, V].
    const [S, D, V] = [h.rows, h.cols, w.rows];
    const out = new Float32Array(S);
    for (let r = 0; r < S; r += NLL_ROWS) {
      const n = Math.min(NLL_ROWS, S - r);
      out.set(await nllF32(h.data.subarray(r * D, (r + n) * D), w.data, targets.subarray(r, r + n), n, D, V), r);
    }
    return out;
  }
  async dispose(): Promise<void> {
    await releaseEngine();
  }
}
