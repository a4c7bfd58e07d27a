// Causal GQA attention as batched cuBLAS GEMMs over bounded chunks of query rows (tensor cores in tf32/bf16 mode):
// per window and per query chunk [q0, q0+Bq): S = scale·Q·Kᵀ over keys [0, q0+Bq), causal softmax in place, O = P·V.
// At most H·Bq·(q0+Bq) scores exist at once (Bq chosen so that is ≤ `scoreBytes`); the full S×S matrix never does.

import { COMPUTE_32F, COMPUTE_32F_FAST_TF32, OP_N, OP_T, R_32F } from "./ffi/cublas.js";
import type { DevicePtr } from "./ffi/driver.js";
import type { CudaDevice } from "./device.js";
import { i32, ptr } from "./program.js";

export interface GemmAttentionArgs {
  out: DevicePtr; q: DevicePtr; k: DevicePtr; v: DevicePtr;
  H: number; KH: number; Dh: number; L: number; W: number;
  /** tf32 tensor cores (tf32 and bf16 modes) or exact fp32 */
  tf32: boolean;
  scoreBytes?: number;
}

/** q: [W·L, H·Dh], k, v: [W·L, KH·Dh] → out: [W·L, H·Dh] (all fp32 row-major) */
export function attentionGemm(dev: CudaDevice, a: GemmAttentionArgs): void {
  const { H, KH, Dh, L, W } = a;
  const g = H / KH; // query heads per kv head: head h = kvh·g + r uses kv head kvh
  const budget = a.scoreBytes ?? 512 * 2 ** 20;
  let Bq = L;
  while (Bq > 64 && H * Bq * L * 4 > budget) Bq = Math.ceil(Bq / 2);
  const S = dev.allocator.alloc(H * Bq * L * 4);
  const { lib, handle } = dev.cublas;
  const compute = a.tf32 ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F;
  const softmax = dev.kernel("softmax.cu", "causal_softmax_rows");
  const qld = H * Dh;
  const kld = KH * Dh;
  try {
    for (let w = 0; w < W; w++) {
      for (let q0 = 0; q0 < L; q0 += Bq) {
        const bq = Math.min(Bq, L - q0);
        const n = q0 + bq; // keys this chunk can see
        const rowQ = (w * L + q0) * 4; // byte offset of the chunk's first query row, times the row width below
        const rowK = w * L * 4;
        // scores: for each r, batch over kv heads; S block of head h at h·bq·n
        for (let r = 0; r < g; r++) {
          lib.gemmStridedBatchedEx(
            handle,
            { transa: OP_T, transb: OP_N, m: n, n: bq, k: Dh, alpha: 1 / Math.sqrt(Dh), a: a.k + rowK * kld, aType: R_32F, lda: kld, b: a.q + rowQ * qld + r * Dh * 4, bType: R_32F, ldb: qld, beta: 0, c: S + r * bq * n * 4, cType: R_32F, ldc: n, compute },
            Dh, g * Dh, g * bq * n, KH,
          );
        }
        softmax.launch([H * bq, 1, 1], [256, 1, 1], [ptr(S), i32(H * bq), i32(n), i32(bq), i32(q0)]);
        for (let r = 0; r < g; r++) {
          lib.gemmStridedBatchedEx(
            handle,
            { transa: OP_N, transb: OP_N, m: Dh, n: bq, k: n, alpha: 1, a: a.v + rowK * kld, aType: R_32F, lda: kld, b: S + r * bq * n * 4, bType: R_32F, ldb: n, beta: 0, c: a.out + rowQ * qld + r * Dh * 4, cType: R_32F, ldc: qld, compute },
            Dh, g * bq * n, g * Dh, KH,
          );
        }
      }
    }
  } finally {
    dev.allocator.free(S);
  }
}
