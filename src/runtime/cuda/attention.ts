// Which attention kernel CudaOps.attention runs: the bf16 tensor-core flash kernel (kernels/attention_bf16.cu, default
// in tf32/bf16 modes), cuBLAS batched GEMMs + softmax (attention-gemm.ts, default in fp32 mode) or the fp32 flash kernel
// (kernels/attention.cu). All take q [W·L, H·Dh], k, v [W·L, KH·Dh] fp32 and write out [W·L, H·Dh] fp32.

import type { DevicePtr } from "./ffi/driver.js";
import type { CudaOps } from "./ops.js";
import { attentionGemm } from "./attention-gemm.js";
import { f32, i32, ptr } from "./program.js";

export interface AttentionArgs {
  out: DevicePtr; q: DevicePtr; k: DevicePtr; v: DevicePtr;
  H: number; KH: number; Dh: number; L: number; W: number;
}

/** head dims kernels/attention_bf16.cu is compiled for (ldmatrix.x4 steps of 32 dims; registers bound it at 128) */
export const bf16FlashHeadDim = (Dh: number) => Dh % 32 === 0 && Dh <= 128;

export function attentionDispatch(ops: CudaOps, a: AttentionArgs): void {
  const { out, q, k, v, H, KH, Dh, L, W } = a;
  const dev = ops.dev;
  if (ops.attentionImpl === "flash-bf16" && bf16FlashHeadDim(Dh)) {
    // K and V cast to bf16 once here (every query tile of every head in the group re-reads them)
    const n = W * L * KH * Dh;
    const kb = ops.toBf16(k, n);
    const vb = ops.toBf16(v, n);
    const args = [ptr(out), ptr(q), ptr(kb), ptr(vb), i32(H), i32(KH), i32(L), f32(Math.LOG2E / Math.sqrt(Dh))];
    // 64 query rows per block, 4 warps; two stages of a 64-key K and V tile, rows padded by 8 (BQ, NWARP, STAGE)
    const smem = 2 * 2 * 64 * (Dh + 8) * 2;
    dev.kernel("attention_bf16.cu", "attention_causal_bf16", { HD: Dh }, smem).launch([Math.ceil(L / 64), H, W], [128, 1, 1], args, smem);
    dev.allocator.free(kb);
    dev.allocator.free(vb);
  } else if (ops.attentionImpl !== "flash") {
    attentionGemm(dev, { out, q, k, v, H, KH, Dh, L, W, tf32: ops.gemmMode !== "fp32" });
  } else {
    if (Dh % 4) throw new Error(`attention (flash): headDim ${Dh} must be a multiple of 4`);
    const args = [ptr(out), ptr(q), ptr(k), ptr(v), i32(H), i32(KH), i32(L), f32(1 / Math.sqrt(Dh))];
    // 64 query rows per block, 4 threads per row (BQ·TPQ in kernels/attention.cu)
    dev.kernel("attention.cu", "attention_causal", { HD: Dh }).launch([Math.ceil(L / 64), H, W], [256, 1, 1], args);
  }
}
