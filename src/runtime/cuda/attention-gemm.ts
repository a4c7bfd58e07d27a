// Causal GQA attention as pointer-array batched cuBLAS GEMMs over bounded chunks (tensor cores in tf32/bf16 mode):
// for a group of windows and a chunk of query rows [q0, q0+bq), one GEMM gives S = scale·Q·Kᵀ for every (window, head)
// over keys [0, q0+bq) only (the causal upper triangle beyond the chunk is skipped), a kernel applies the causal
// softmax in place, one GEMM gives O = P·V. At most `scoreBytes` of scores exist at once; the full S×S never does.

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
  /** query rows per chunk (default 512: skips ~⅜ of the masked work at L = 2048) */
  queryChunk?: number;
}

/** q: [W·L, H·Dh], k, v: [W·L, KH·Dh] → out: [W·L, H·Dh] (all fp32 row-major) */
export function attentionGemm(dev: CudaDevice, a: GemmAttentionArgs): void {
  const { H, KH, Dh, L, W } = a;
  const g = H / KH; // head h uses kv head ⌊h / g⌋
  const budget = a.scoreBytes ?? 512 * 2 ** 20;
  let Bq = Math.min(L, a.queryChunk ?? 512);
  while (Bq > 16 && H * Bq * L * 4 > budget) Bq = Math.ceil(Bq / 2);
  const Wg = Math.max(1, Math.min(W, Math.floor(budget / (H * Bq * L * 4)))); // windows per GEMM batch
  const S = dev.allocator.alloc(Wg * H * Bq * L * 4);
  const arrays = dev.allocator.alloc(6 * Wg * H * 8);
  const host = new BigUint64Array(6 * Wg * H);
  const { lib, handle } = dev.cublas;
  const compute = a.tf32 ? COMPUTE_32F_FAST_TF32 : COMPUTE_32F;
  const softmax = dev.kernel("softmax.cu", "causal_softmax_rows");
  const qld = H * Dh;
  const kld = KH * Dh;
  const nb = Wg * H;
  const [qA, kA, sA, vA, oA] = [0, 1, 2, 3, 4].map((i) => arrays + i * nb * 8) as [number, number, number, number, number];
  try {
    for (let w0 = 0; w0 < W; w0 += Wg) {
      const wn = Math.min(Wg, W - w0);
      for (let q0 = 0; q0 < L; q0 += Bq) {
        const bq = Math.min(Bq, L - q0);
        const n = q0 + bq; // keys this chunk can see
        const batch = wn * H;
        // batch entry b = wi·H + h: Q rows of window w0+wi from q0, head h; K/V of kv head ⌊h/g⌋; S block b
        for (let wi = 0; wi < wn; wi++) {
          const row0 = (w0 + wi) * L;
          for (let h = 0; h < H; h++) {
            const b = wi * H + h;
            const kvh = Math.floor(h / g);
            const qp = a.q + ((row0 + q0) * qld + h * Dh) * 4;
            host[b] = BigInt(qp);
            host[nb + b] = BigInt(a.k + (row0 * kld + kvh * Dh) * 4);
            host[2 * nb + b] = BigInt(S + b * bq * n * 4);
            host[3 * nb + b] = BigInt(a.v + (row0 * kld + kvh * Dh) * 4);
            host[4 * nb + b] = BigInt(a.out + ((row0 + q0) * qld + h * Dh) * 4);
          }
        }
        // scratch arrays are rewritten only after the previous chunk's GEMMs consumed them (same stream, synchronous copy)
        dev.allocator.copyIn(arrays, host.subarray(0, 5 * nb));
        // Sᵀ (n × bq, col-major) = Kᵀ-view · Q-view: scores of query i (row) against key j (col), row-major [bq, n]
        lib.gemmBatchedEx(handle, { transa: OP_T, transb: OP_N, m: n, n: bq, k: Dh, alpha: 1 / Math.sqrt(Dh), a: 0, aType: R_32F, lda: kld, b: 0, bType: R_32F, ldb: qld, beta: 0, c: 0, cType: R_32F, ldc: n, compute }, kA, qA, sA, batch);
        softmax.launch([batch * bq, 1, 1], [256, 1, 1], [ptr(S), i32(batch * bq), i32(n), i32(bq), i32(q0)]);
        // Oᵀ (Dh × bq) = Vᵀ-view (Dh × n) · Pᵀ-view (n × bq), written straight into out's head columns
        lib.gemmBatchedEx(handle, { transa: OP_N, transb: OP_N, m: Dh, n: bq, k: n, alpha: 1, a: 0, aType: R_32F, lda: kld, b: 0, bType: R_32F, ldb: n, beta: 0, c: 0, cType: R_32F, ldc: qld, compute }, vA, sA, oA, batch);
      }
    }
  } finally {
    dev.allocator.free(S);
    dev.allocator.free(arrays);
  }
}
