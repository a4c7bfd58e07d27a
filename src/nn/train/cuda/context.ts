// The device side of block training: a CudaDevice plus the GEMM mode, fp32 device buffers, kernel launches and a
// row-major (strided-batched) GEMM on cuBLAS. fp32 storage throughout. GEMM modes: fp32 (COMPUTE_32F, the default,
// matches the CPU oracle src/nn/train); tf32 (COMPUTE_32F_FAST_TF32: fp32 in and out, tensor cores); bf16 — the
// analogue of torch autocast: the Linear GEMMs (forward, dx, dW) cast both operands to bf16 scratch copies and run
// bf16 tensor cores with fp32 accumulate and fp32 output; the attention GEMMs (strided views) use COMPUTE_32F_FAST_16BF.
// In bf16 mode an operand may also come pre-cast (an Operand {b16}): the block casts each activation once and reuses the
// copy for the forward and dW GEMMs (torch autocast's cast cache does the same for weights), and a weight registered
// with setBf16Weight (the trainer's Ŵ, written in bf16 by lwc_fwd) is read from its bf16 copy instead of being cast.

import type { CudaDevice } from "../../../runtime/cuda/device.js";
import type { DevicePtr } from "../../../runtime/cuda/ffi/driver.js";
import { COMPUTE_32F, COMPUTE_32F_FAST_16BF, COMPUTE_32F_FAST_TF32, OP_N, OP_T, R_16BF, R_32F } from "../../../runtime/cuda/ffi/cublas.js";
import { f32, i32, i64, ptr, type KernelArg } from "../../../runtime/cuda/program.js";

export type TrainGemmMode = "fp32" | "tf32" | "bf16";

/** a device fp32 (or int32) array of n elements */
export interface Buf {
  ptr: DevicePtr;
  n: number;
}

/** a pre-cast bf16 copy of a GEMM operand (bf16 mode only) */
export interface Bf16 {
  b16: DevicePtr;
}
/** an operand of the Linear GEMMs: fp32 (cast to bf16 scratch when the mode wants it) or a pre-cast bf16 copy */
export type Operand = DevicePtr | Bf16;

export const NULL_PTR = 0;
export { f32, i32, i64, ptr };

export interface RowGemm {
  /** C [M, N] = alpha·op(A)·op(B) + beta·C, all row-major; op(A) is [M, K], op(B) is [K, N] */
  tA?: boolean;
  tB?: boolean;
  M: number;
  N: number;
  K: number;
  a: DevicePtr;
  lda: number;
  b: DevicePtr;
  ldb: number;
  c: DevicePtr;
  ldc: number;
  alpha?: number;
  beta?: number;
  /** batched: element strides between consecutive A, B, C */
  batch?: { count: number; sA: number; sB: number; sC: number };
  /** force exact fp32 whatever the mode (the MoE router) */
  exact?: boolean;
  /** element types (cudaDataType, default R_32F); any bf16 operand runs COMPUTE_32F (bf16 tensor cores) */
  aType?: number;
  bType?: number;
  cType?: number;
}

/** bf16-mode levers; switches for A/B timing (bench/omniquant-gpu.ts --lowp-attention on|off, --no-dw-bf16) */
export interface Bf16Tuning {
  /** attention on bf16 q/k/v/P/dS with causal row blocks (attention.ts); off: fp32 operands, COMPUTE_32F_FAST_16BF.
   *  Unset: on from T ≥ LOWP_ATTENTION_MIN_T (it saved ≈ 1.1 ms of an 8.3 ms 7B step at T 2048; at T 512 the llama-s
   *  bf16 step was slower than fp32 with it, 1.21 vs 0.88 ms) */
  lowpAttention?: boolean;
  /** the trainer's dW GEMMs write bf16 for lwc_bwd (without LET) */
  dwBf16?: boolean;
}

export const LOWP_ATTENTION_MIN_T = 1024;

/** whether the bf16 mode's low-precision attention runs for windows of T tokens */
export function lowpAttention(td: TrainDevice, T: number): boolean {
  return td.mode === "bf16" && (td.tune.lowpAttention ?? T >= LOWP_ATTENTION_MIN_T);
}

export class TrainDevice {
  /** fp32 weight pointer → its bf16 copy (bf16 mode): dense() reads the copy instead of casting */
  private readonly w16 = new Map<DevicePtr, DevicePtr>();

  constructor(
    readonly dev: CudaDevice,
    readonly mode: TrainGemmMode = "fp32",
    readonly tune: Bf16Tuning = {},
  ) {}

  alloc(n: number): Buf {
    return { ptr: this.dev.allocator.alloc(Math.max(1, n) * 4), n };
  }

  zeros(n: number): Buf {
    const b = this.alloc(n);
    if (n > 0) this.dev.driver.memsetD32(b.ptr, 0, n);
    return b;
  }

  upload(data: Float32Array | Int32Array): Buf {
    const b = this.alloc(data.length);
    this.dev.allocator.copyIn(b.ptr, data);
    return b;
  }

  write(b: Buf, data: Float32Array | Int32Array): void {
    if (data.length > b.n) throw new Error(`write: ${data.length} values into a buffer of ${b.n}`);
    this.dev.allocator.copyIn(b.ptr, data);
  }

  download(b: Buf, n = b.n): Float32Array {
    const out = new Float32Array(n);
    this.dev.allocator.copyOut(out, b.ptr);
    return out;
  }

  copy(dst: Buf, src: Buf): void {
    if (src.n > dst.n) throw new Error(`copy: ${src.n} values into ${dst.n}`);
    if (src.n > 0) this.dev.driver.copyDtoD(dst.ptr, src.ptr, src.n * 4);
  }

  free(...bs: (Buf | undefined)[]): void {
    for (const b of bs) if (b) this.dev.allocator.free(b.ptr);
  }

  /** launches kernels/<file>:fn */
  launch(file: string, fn: string, grid: number, block: number, args: KernelArg[]): void {
    this.dev.kernel(file, fn).launch([Math.max(1, grid), 1, 1], [block, 1, 1], args);
  }

  /** grid-stride elementwise launch over n elements */
  elementwise(file: string, fn: string, n: number, args: KernelArg[]): void {
    this.launch(file, fn, Math.min(Math.ceil(n / 256), 65536), 256, args);
  }

  gemm(g: RowGemm): void {
    const { lib, handle } = this.dev.cublas;
    const aType = g.aType ?? R_32F, bType = g.bType ?? R_32F, cType = g.cType ?? R_32F;
    const half = aType !== R_32F || bType !== R_32F;
    const compute = g.exact || half || this.mode === "fp32" ? COMPUTE_32F : this.mode === "tf32" ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F_FAST_16BF;
    // row-major C = op(A)·op(B)  ⇔  column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, and a row-major X is the column-major Xᵀ
    const args = {
      transa: g.tB ? OP_T : OP_N, transb: g.tA ? OP_T : OP_N, m: g.N, n: g.M, k: g.K, alpha: g.alpha ?? 1,
      a: g.b, aType: bType, lda: g.ldb, b: g.a, bType: aType, ldb: g.lda, beta: g.beta ?? 0, c: g.c, cType, ldc: g.ldc, compute,
    };
    if (g.batch) lib.gemmStridedBatchedEx(handle, args, g.batch.sB, g.batch.sA, g.batch.sC, g.batch.count);
    else lib.gemmEx(handle, args);
  }

  /** fp32 [n] → a bf16 scratch buffer (caller frees, stream-ordered) */
  private bf16(p: DevicePtr, n: number): DevicePtr {
    const out = this.dev.allocator.alloc(Math.max(2, n * 2));
    this.castBf16(out, p, n);
    return out;
  }

  /** out [n] bf16 = fp32 p [n] (round to nearest even) */
  castBf16(out: DevicePtr, p: DevicePtr, n: number): void {
    this.dev.kernel("elementwise.cu", "cast_f32_bf16").launch([Math.min(Math.ceil(n / 256), 65536), 1, 1], [256, 1, 1], [ptr(out), ptr(p), i64(n)]);
  }

  /** bf16 mode with `into` given: casts p [n] into the bf16 buffer `into` once and returns it as a pre-cast operand, to be
   *  reused by every GEMM that reads p while p is unchanged; otherwise p itself */
  operand(p: DevicePtr, n: number, into?: DevicePtr): Operand {
    if (this.mode !== "bf16" || !into) return p;
    this.castBf16(into, p, n);
    return { b16: into };
  }

  /** bf16 mode: dense GEMMs whose weight operand is `fp32` read the bf16 copy `b16` (kept in sync by the caller) */
  setBf16Weight(fp32: DevicePtr, b16: DevicePtr): void {
    this.w16.set(fp32, b16);
  }

  clearBf16Weight(fp32: DevicePtr): void {
    this.w16.delete(fp32);
  }

  /** a dense (unbatched, packed) Linear GEMM: bf16 operands in bf16 mode, else gemm(); wIs: which operand is a weight */
  private dense(g: Omit<RowGemm, "a" | "b"> & { a: Operand; b: Operand }, aElems: number, bElems: number, wIs: "a" | "b" | "none"): void {
    const fp = (o: Operand, what: string): DevicePtr => {
      if (typeof o !== "number") throw new Error(`TrainDevice.${what}: a bf16 operand outside bf16 mode`);
      return o;
    };
    if (this.mode !== "bf16" || g.exact) return this.gemm({ ...g, a: fp(g.a, "dense"), b: fp(g.b, "dense") });
    const scratch: DevicePtr[] = [];
    const b16 = (o: Operand, n: number, weight: boolean): DevicePtr => {
      if (typeof o !== "number") return o.b16;
      const w = weight ? this.w16.get(o) : undefined;
      if (w !== undefined) return w;
      const c = this.bf16(o, n);
      scratch.push(c);
      return c;
    };
    const a = b16(g.a, aElems, wIs === "a");
    const b = b16(g.b, bElems, wIs === "b");
    const { lib, handle } = this.dev.cublas;
    lib.gemmEx(handle, {
      transa: g.tB ? OP_T : OP_N, transb: g.tA ? OP_T : OP_N, m: g.N, n: g.M, k: g.K, alpha: g.alpha ?? 1,
      a: b, aType: R_16BF, lda: g.ldb, b: a, bType: R_16BF, ldb: g.lda, beta: g.beta ?? 0, c: g.c, cType: g.cType ?? R_32F, ldc: g.ldc, compute: COMPUTE_32F,
    });
    for (const c of scratch) this.dev.allocator.free(c);
  }

  /** y [M, N] = x [M, K]·w [N, K]ᵀ (+ beta·y) */
  linear(y: DevicePtr, x: Operand, w: Operand, M: number, K: number, N: number, beta = 0, exact = false): void {
    this.dense({ tB: true, M, N, K, a: x, lda: K, b: w, ldb: K, c: y, ldc: N, beta, exact }, M * K, N * K, "b");
  }

  /** dx [M, K] (+)= dy [M, N]·w [N, K] */
  linearDx(dx: DevicePtr, dy: Operand, w: Operand, M: number, K: number, N: number, beta = 0, exact = false): void {
    this.dense({ M, N: K, K: N, a: dy, lda: N, b: w, ldb: K, c: dx, ldc: K, beta, exact }, M * N, N * K, "b");
  }

  /** dw [N, K] = dy [M, N]ᵀ·x [M, K]; out16 (bf16 mode only): dw written in bf16 */
  linearDw(dw: DevicePtr, dy: Operand, x: Operand, M: number, K: number, N: number, out16 = false): void {
    if (out16 && this.mode !== "bf16") throw new Error("TrainDevice.linearDw: a bf16 dW outside bf16 mode");
    this.dense({ tA: true, M: N, N: K, K: M, a: dy, lda: N, b: x, ldb: K, c: dw, ldc: K, ...(out16 ? { cType: R_16BF } : {}) }, M * N, M * K, "none");
  }

  sync(): void {
    this.dev.synchronize();
  }
}
