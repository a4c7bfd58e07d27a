// The device side of block training: a CudaDevice plus the GEMM mode, fp32 device buffers, kernel launches and a
// row-major (strided-batched) GEMM on cuBLAS. fp32 storage throughout. GEMM modes: fp32 (COMPUTE_32F, the default,
// matches the CPU oracle src/nn/train); tf32 (COMPUTE_32F_FAST_TF32: fp32 in and out, tensor cores); bf16 — the
// analogue of torch autocast: the Linear GEMMs (forward, dx, dW) cast both operands to bf16 scratch copies and run
// bf16 tensor cores with fp32 accumulate and fp32 output; the attention GEMMs (strided views) use COMPUTE_32F_FAST_16BF.

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
}

export class TrainDevice {
  /** GEMM time per label when profiling (CUDA events would serialise; host-side launch counting only) */
  constructor(
    readonly dev: CudaDevice,
    readonly mode: TrainGemmMode = "fp32",
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
    const compute = g.exact || this.mode === "fp32" ? COMPUTE_32F : this.mode === "tf32" ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F_FAST_16BF;
    // row-major C = op(A)·op(B)  ⇔  column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, and a row-major X is the column-major Xᵀ
    const args = {
      transa: g.tB ? OP_T : OP_N, transb: g.tA ? OP_T : OP_N, m: g.N, n: g.M, k: g.K, alpha: g.alpha ?? 1,
      a: g.b, aType: R_32F, lda: g.ldb, b: g.a, bType: R_32F, ldb: g.lda, beta: g.beta ?? 0, c: g.c, cType: R_32F, ldc: g.ldc, compute,
    };
    if (g.batch) lib.gemmStridedBatchedEx(handle, args, g.batch.sB, g.batch.sA, g.batch.sC, g.batch.count);
    else lib.gemmEx(handle, args);
  }

  /** fp32 [n] → a bf16 scratch buffer (caller frees, stream-ordered) */
  private bf16(p: DevicePtr, n: number): DevicePtr {
    const out = this.dev.allocator.alloc(Math.max(2, n * 2));
    this.dev.kernel("elementwise.cu", "cast_f32_bf16").launch([Math.min(Math.ceil(n / 256), 65536), 1, 1], [256, 1, 1], [ptr(out), ptr(p), i64(n)]);
    return out;
  }

  /** a dense (unbatched, packed) Linear GEMM: bf16 operands in bf16 mode, else gemm() */
  private dense(g: RowGemm, aElems: number, bElems: number): void {
    if (this.mode !== "bf16" || g.exact) return this.gemm(g);
    const a = this.bf16(g.a, aElems);
    const b = this.bf16(g.b, bElems);
    const { lib, handle } = this.dev.cublas;
    lib.gemmEx(handle, {
      transa: g.tB ? OP_T : OP_N, transb: g.tA ? OP_T : OP_N, m: g.N, n: g.M, k: g.K, alpha: g.alpha ?? 1,
      a: b, aType: R_16BF, lda: g.ldb, b: a, bType: R_16BF, ldb: g.lda, beta: g.beta ?? 0, c: g.c, cType: R_32F, ldc: g.ldc, compute: COMPUTE_32F,
    });
    this.dev.allocator.free(a);
    this.dev.allocator.free(b);
  }

  /** y [M, N] = x [M, K]·w [N, K]ᵀ (+ beta·y) */
  linear(y: DevicePtr, x: DevicePtr, w: DevicePtr, M: number, K: number, N: number, beta = 0, exact = false): void {
    this.dense({ tB: true, M, N, K, a: x, lda: K, b: w, ldb: K, c: y, ldc: N, beta, exact }, M * K, N * K);
  }

  /** dx [M, K] (+)= dy [M, N]·w [N, K] */
  linearDx(dx: DevicePtr, dy: DevicePtr, w: DevicePtr, M: number, K: number, N: number, beta = 0, exact = false): void {
    this.dense({ M, N: K, K: N, a: dy, lda: N, b: w, ldb: K, c: dx, ldc: K, beta, exact }, M * N, N * K);
  }

  /** dw [N, K] = dy [M, N]ᵀ·x [M, K] */
  linearDw(dw: DevicePtr, dy: DevicePtr, x: DevicePtr, M: number, K: number, N: number): void {
    this.dense({ tA: true, M: N, N: K, K: M, a: dy, lda: N, b: x, ldb: K, c: dw, ldc: K }, M * N, M * K);
  }

  sync(): void {
    this.dev.synchronize();
  }
}
