// CudaOps: the op table (src/runtime/ops.ts) on one GPU. fp32 tensors in device memory; GEMMs through cuBLAS:
// fp32 (COMPUTE_32F, exact fp32 FMA; the default), tf32, or bf16 (weights kept as a bf16 shadow, activations cast to
// bf16 per GEMM, fp32 accumulate and output). Everything else through kernels/*.cu in fp32.

import type { DeviceTensor, MlpWeights, Ops, RoutingResult } from "../ops.js";
import { shapes } from "../null/shapes.js";
import type { DevicePtr } from "./ffi/driver.js";
import { COMPUTE_32F, COMPUTE_32F_FAST_TF32, OP_N, OP_T, R_16BF, R_32F } from "./ffi/cublas.js";
import type { CudaDevice } from "./device.js";
import { f32, i32, i64, ptr, type KernelArg } from "./program.js";
import { attentionDispatch } from "./attention.js";
import { linearMany, mlp, moeExperts } from "./fused.js";

export class CudaTensor implements DeviceTensor {
  constructor(
    readonly ptr: DevicePtr,
    readonly shape: readonly number[],
    readonly size: number,
  ) {}
}

export type GemmMode = "fp32" | "tf32" | "bf16";
export type AttentionImpl = "gemm" | "flash" | "flash-bf16";
export const ATTENTION_IMPLS: readonly AttentionImpl[] = ["gemm", "flash", "flash-bf16"];

export interface CudaOpsOptions {
  /** fp32 (default, exact), tf32 (tensor cores, inputs rounded to 10 mantissa bits), bf16 (inputs rounded to bf16) */
  gemm?: GemmMode;
  /** "gemm" (default with gemm = fp32): cuBLAS batched GEMMs over bounded query chunks + a causal softmax kernel
   *  (tensor cores unless gemm = fp32); "flash": kernels/attention.cu, fp32 CUDA cores, one BQ×BK score tile per head;
   *  "flash-bf16" (default with gemm = tf32 or bf16): kernels/attention_bf16.cu, bf16 tensor cores, fp32 softmax, one
   *  launch for all windows × heads (head dims that are multiples of 32 up to 128; others fall back to "gemm") */
  attention?: AttentionImpl;
  /** bytes of logits one lm_head chunk may hold on the device (default 256 MiB) */
  nllChunkBytes?: number;
}

const EW_BLOCK = 256;
const gridFor = (n: number) => Math.max(1, Math.min(Math.ceil(n / EW_BLOCK), 1 << 20));

export class CudaOps implements Ops<CudaTensor> {
  readonly device = "cuda";
  readonly gemmMode: GemmMode;
  readonly attentionImpl: AttentionImpl;
  private readonly nllChunkBytes: number;
  private readonly live = new Set<CudaTensor>();
  /** bf16 copies of GEMM weights (gemm = "bf16"), made on first use and freed with the tensor */
  private readonly shadows = new Map<CudaTensor, DevicePtr>();

  constructor(
    readonly dev: CudaDevice,
    opts: CudaOpsOptions = {},
  ) {
    this.gemmMode = opts.gemm ?? "fp32";
    this.attentionImpl = opts.attention ?? (this.gemmMode === "fp32" ? "gemm" : "flash-bf16");
    this.nllChunkBytes = opts.nllChunkBytes ?? 256 * 2 ** 20;
  }

  get precision(): string {
    return { fp32: "fp32 (cuBLAS COMPUTE_32F)", tf32: "fp32 storage, tf32 GEMMs", bf16: "fp32 storage, bf16 GEMM inputs, fp32 accumulate" }[this.gemmMode];
  }

  /** A new fp32 tensor (internal: the fused ops in moe-device.ts / fused.ts use it too). */
  alloc(shape: readonly number[]): CudaTensor {
    const size = shapes.size(shape);
    const t = new CudaTensor(this.dev.allocator.alloc(size * 4), [...shape], size);
    this.live.add(t);
    return t;
  }

  /** Host array → a device scratch buffer; the caller frees it after queueing the kernel that reads it (stream-ordered). */
  private scratch(data: Int32Array | Float32Array): DevicePtr {
    const p = this.dev.allocator.alloc(Math.max(4, data.byteLength));
    this.dev.allocator.copyIn(p, data);
    return p;
  }

  /** Launches kernels/<file>:<fn> (internal). */
  run(file: string, fn: string, grid: [number, number, number], block: number, args: KernelArg[], defines: Record<string, number> = {}): void {
    this.dev.kernel(file, fn, defines).launch(grid, [block, 1, 1], args);
  }

  async upload(data: Float32Array, shape: number[]): Promise<CudaTensor> {
    if (data.length !== shapes.size(shape)) throw new Error(`upload: ${data.length} values for shape [${shape.join(", ")}]`);
    const t = this.alloc(shape);
    this.dev.allocator.copyIn(t.ptr, data);
    return t;
  }

  async download(x: CudaTensor): Promise<Float32Array> {
    const out = new Float32Array(x.size);
    this.dev.allocator.copyOut(out, x.ptr);
    return out;
  }

  free(x: CudaTensor): void {
    if (!this.live.delete(x)) return; // already freed (tied weights are freed once)
    this.dev.allocator.free(x.ptr);
    const sh = this.shadows.get(x);
    if (sh !== undefined) {
      this.dev.allocator.free(sh);
      this.shadows.delete(x);
    }
  }

  /** Live tensors and allocator bytes (leak checks, peak memory in benchmarks). */
  memory(): { liveTensors: number; inUse: number; peak: number; cached: number } {
    return { liveTensors: this.live.size, ...this.dev.allocator.stats() };
  }

  async embedding(table: CudaTensor, ids: Int32Array): Promise<CudaTensor> {
    const [S, D] = shapes.embedding(table.shape, ids) as [number, number];
    const out = this.alloc([S, D]);
    if (S === 0) return out;
    const idp = this.scratch(ids);
    this.run("embedding.cu", "embedding_gather", [S, 1, 1], 128, [ptr(out.ptr), ptr(table.ptr), ptr(idp), i32(S), i32(D)]);
    this.dev.allocator.free(idp);
    return out;
  }

  async actQuant(x: CudaTensor, rowLen: number, bits: number): Promise<CudaTensor> {
    const [S, C] = shapes.actQuant(x.shape, rowLen, bits) as [number, number];
    const y = this.alloc([S, C]);
    const rows = (S * C) / rowLen;
    if (rows > 0) this.run("act_quant.cu", "act_quant_rows", [rows, 1, 1], 128, [ptr(y.ptr), ptr(x.ptr), i32(rows), i32(rowLen), f32(2 ** bits - 1)]);
    return y;
  }
  async rmsnorm(x: CudaTensor, w: CudaTensor, eps: number): Promise<CudaTensor> {
    const [S, D] = shapes.rmsnorm(x.shape, w.shape) as [number, number];
    const y = this.alloc([S, D]);
    if (S > 0) this.run("rmsnorm.cu", "rmsnorm", [S, 1, 1], 256, [ptr(y.ptr), ptr(x.ptr), ptr(w.ptr), i32(S), i32(D), f32(eps)]);
    return y;
  }

  async addRmsnorm(a: CudaTensor, b: CudaTensor, w: CudaTensor, eps: number): Promise<[CudaTensor, CudaTensor]> {
    const [S, D] = shapes.rmsnorm(shapes.same("addRmsnorm", a.shape, b.shape), w.shape) as [number, number];
    const h = this.alloc([S, D]);
    const y = this.alloc([S, D]);
    if (S > 0) this.run("rmsnorm.cu", "add_rmsnorm", [S, 1, 1], 256, [ptr(h.ptr), ptr(y.ptr), ptr(a.ptr), ptr(b.ptr), ptr(w.ptr), i32(S), i32(D), f32(eps)]);
    return [h, y];
  }

  /** fp32 [n] → a new bf16 device buffer (caller frees). */
  toBf16(p: DevicePtr, n: number): DevicePtr {
    const out = this.dev.allocator.alloc(n * 2);
    this.run("elementwise.cu", "cast_f32_bf16", [gridFor(n), 1, 1], EW_BLOCK, [ptr(out), ptr(p), i64(n)]);
    return out;
  }

  /** y [M, N] = x [M, K] · w [N, K]ᵀ, row-major; in cuBLAS's column-major terms yᵀ = w · xᵀ. `wt` names the weight
   *  tensor whose bf16 shadow may be reused. `xBf16`: x already holds bf16 (bf16 mode only; no cast launched). */
  gemm(y: DevicePtr, x: DevicePtr, w: DevicePtr, M: number, K: number, N: number, wt?: CudaTensor, xBf16 = false): void {
    const { lib, handle } = this.dev.cublas;
    const g = { transa: OP_T, transb: OP_N, m: N, n: M, k: K, alpha: 1, lda: K, ldb: K, beta: 0, c: y, cType: R_32F, ldc: N };
    if (this.gemmMode !== "bf16") {
      if (xBf16) throw new Error(`gemm: a bf16 input needs gemm mode bf16 (mode is ${this.gemmMode})`);
      const compute = this.gemmMode === "tf32" ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F;
      lib.gemmEx(handle, { ...g, a: w, aType: R_32F, b: x, bType: R_32F, compute });
      return;
    }
    let wb = wt ? this.shadows.get(wt) : undefined;
    const ownW = wb === undefined && !wt;
    if (wb === undefined) {
      wb = this.toBf16(w, N * K);
      if (wt) this.shadows.set(wt, wb);
    }
    const xb = xBf16 ? x : this.toBf16(x, M * K);
    lib.gemmEx(handle, { ...g, a: wb, aType: R_16BF, b: xb, bType: R_16BF, compute: COMPUTE_32F });
    if (!xBf16) this.dev.allocator.free(xb);
    if (ownW) this.dev.allocator.free(wb);
  }

  async linear(x: CudaTensor, w: CudaTensor, bias?: CudaTensor): Promise<CudaTensor> {
    const [M, N] = shapes.linear(x.shape, w.shape, bias?.shape) as [number, number];
    const K = x.shape[1]!;
    const y = this.alloc([M, N]);
    if (M === 0 || N === 0) return y;
    this.gemm(y.ptr, x.ptr, w.ptr, M, K, N, w);
    if (bias) this.run("elementwise.cu", "add_bias_rows", [gridFor(M * N), 1, 1], EW_BLOCK, [ptr(y.ptr), ptr(bias.ptr), i64(M), i32(N)]);
    return y;
  }

  private ropeKernel(fn: string, x: CudaTensor, heads: number, headDim: number, theta: number, windowLen: number): CudaTensor {
    const [R, C] = shapes.rope(x.shape, heads, headDim, windowLen) as [number, number];
    const y = this.alloc([R, C]);
    const pairs = (heads * headDim) / 2;
    if (R > 0) this.run("rope.cu", fn, [R, Math.ceil(pairs / 128), 1], 128, [ptr(y.ptr), ptr(x.ptr), i32(R), i32(heads), i32(headDim), f32(theta), i32(windowLen)]);
    return y;
  }

  async rope(x: CudaTensor, heads: number, headDim: number, theta: number, windowLen: number): Promise<CudaTensor> {
    return this.ropeKernel("rope_rotate_half", x, heads, headDim, theta, windowLen);
  }

  /** RoPE with the interleaved pair layout (2i, 2i+1) (GPT-J / Meta checkpoints); not part of Ops. */
  async ropeInterleaved(x: CudaTensor, heads: number, headDim: number, theta: number, windowLen: number): Promise<CudaTensor> {
    return this.ropeKernel("rope_interleaved", x, heads, headDim, theta, windowLen);
  }

  async attention(q: CudaTensor, k: CudaTensor, v: CudaTensor, heads: number, kvHeads: number, headDim: number, windowLen: number): Promise<CudaTensor> {
    const [R, C] = shapes.attention(q.shape, k.shape, v.shape, heads, kvHeads, headDim, windowLen) as [number, number];
    if (headDim > 256) throw new Error(`attention: headDim ${headDim} > 256 is not supported by kernels/attention.cu`);
    const out = this.alloc([R, C]);
    if (R > 0) attentionDispatch(this, { out: out.ptr, q: q.ptr, k: k.ptr, v: v.ptr, H: heads, KH: kvHeads, Dh: headDim, L: windowLen, W: R / windowLen });
    return out;
  }

  async swiglu(gate: CudaTensor, up: CudaTensor): Promise<CudaTensor> {
    const y = this.alloc(shapes.same("swiglu", gate.shape, up.shape));
    if (y.size > 0) this.run("elementwise.cu", "swiglu", [gridFor(y.size), 1, 1], EW_BLOCK, [ptr(y.ptr), ptr(gate.ptr), ptr(up.ptr), i64(y.size)]);
    return y;
  }

  async add(a: CudaTensor, b: CudaTensor): Promise<CudaTensor> {
    const y = this.alloc(shapes.same("add", a.shape, b.shape));
    if (y.size > 0) this.run("elementwise.cu", "add", [gridFor(y.size), 1, 1], EW_BLOCK, [ptr(y.ptr), ptr(a.ptr), ptr(b.ptr), i64(y.size)]);
    return y;
  }

  async route(logits: CudaTensor, k: number, renormalize: boolean): Promise<RoutingResult> {
    const [S, E] = shapes.route(logits.shape, k);
    const experts = new Int32Array(S * k);
    const weights = new Float32Array(S * k);
    if (S === 0) return { experts, weights };
    const ep = this.dev.allocator.alloc(S * k * 4);
    const wp = this.dev.allocator.alloc(S * k * 4);
    this.run("moe.cu", "route_topk", [Math.ceil(S / 128), 1, 1], 128, [ptr(ep), ptr(wp), ptr(logits.ptr), i32(S), i32(E), i32(k), i32(renormalize ? 1 : 0)]);
    this.dev.allocator.copyOut(experts, ep);
    this.dev.allocator.copyOut(weights, wp);
    this.dev.allocator.free(ep);
    this.dev.allocator.free(wp);
    return { experts, weights };
  }

  async gatherRows(x: CudaTensor, rows: Int32Array): Promise<CudaTensor> {
    const [R, D] = shapes.rows("gatherRows", x.shape, rows) as [number, number];
    const out = this.alloc([R, D]);
    if (R === 0) return out;
    const rp = this.scratch(rows);
    this.run("elementwise.cu", "gather_rows", [R, 1, 1], 128, [ptr(out.ptr), ptr(x.ptr), ptr(rp), i32(R), i32(D)]);
    this.dev.allocator.free(rp);
    return out;
  }

  async scatterAddRows(out: CudaTensor, y: CudaTensor, rows: Int32Array, scale: Float32Array): Promise<void> {
    shapes.scatter(out.shape, y.shape, rows, scale);
    const R = rows.length;
    if (R === 0) return;
    const rp = this.scratch(rows);
    const sp = this.scratch(scale);
    this.run("elementwise.cu", "scatter_add_rows", [R, 1, 1], 128, [ptr(out.ptr), ptr(y.ptr), ptr(rp), ptr(sp), i32(R), i32(out.shape[1]!)]);
    this.dev.allocator.free(rp);
    this.dev.allocator.free(sp);
  }

  async sigmoidGate(x: CudaTensor, w: CudaTensor, y: CudaTensor): Promise<CudaTensor> {
    const [S, F] = shapes.sigmoidGate(x.shape, w.shape, y.shape) as [number, number];
    const out = this.alloc([S, F]);
    if (S > 0) this.run("elementwise.cu", "sigmoid_gate", [S, 1, 1], 256, [ptr(out.ptr), ptr(x.ptr), ptr(w.ptr), ptr(y.ptr), i32(S), i32(x.shape[1]!), i32(F)]);
    return out;
  }

  async zeros(shape: number[]): Promise<CudaTensor> {
    const t = this.alloc(shape);
    if (t.size > 0) this.dev.driver.memsetD32(t.ptr, 0, t.size);
    return t;
  }

  /** h [S, D], w [V, D], targets [S] → nll [S]: per chunk of rows a cuBLAS GEMM into a device logits buffer and a
   *  log-sum-exp kernel; only the S losses come back to the host. */
  async nll(h: CudaTensor, w: CudaTensor, targets: Int32Array): Promise<Float32Array> {
    const [S, D, V] = shapes.nll(h.shape, w.shape, targets);
    const out = new Float32Array(S);
    if (S === 0) return out;
    const chunk = Math.max(1, Math.min(S, Math.floor(this.nllChunkBytes / (V * 4))));
    const logits = this.dev.allocator.alloc(chunk * V * 4);
    const tp = this.scratch(targets);
    const np = this.dev.allocator.alloc(S * 4);
    for (let r = 0; r < S; r += chunk) {
      const n = Math.min(chunk, S - r);
      this.gemm(logits, h.ptr + r * D * 4, w.ptr, n, D, V, w);
      this.run("cross_entropy.cu", "logsumexp_nll", [n, 1, 1], 256, [ptr(np + r * 4), ptr(logits), ptr(tp + r * 4), i32(n), i32(V)]);
    }
    this.dev.allocator.copyOut(out, np);
    for (const p of [logits, tp, np]) this.dev.allocator.free(p);
    return out;
  }

  async linearMany(x: CudaTensor, ws: ReadonlyArray<{ w: CudaTensor; bias?: CudaTensor }>): Promise<CudaTensor[]> {
    return linearMany(this, x, ws);
  }

  async mlp(x: CudaTensor, m: MlpWeights<CudaTensor>): Promise<CudaTensor> {
    return mlp(this, x, m);
  }

  async moeExperts(x: CudaTensor, logits: CudaTensor, experts: ReadonlyArray<MlpWeights<CudaTensor>>, k: number, renormalize: boolean): Promise<CudaTensor> {
    return moeExperts(this, x, logits, experts, k, renormalize);
  }

  async dispose(): Promise<void> {
    this.live.clear();
    this.shadows.clear();
    this.dev.dispose();
  }
}
