// Causal GQA attention forward/backward on the device (the math of src/nn/train/attention.ts, transformers
// LlamaAttention eager path): scores [H, T, T] materialised, one cuBLAS strided-batched GEMM per query head of a kv
// group (batched over the KH kv heads), causal softmax kernels. q: [T, H·Dh], k, v: [T, KH·Dh] in the Linear layout
// (head h reads kv head ⌊h·KH/H⌋ = ⌊h/g⌋); no layout copies. GQA gradients of k, v sum over the g heads (beta = 1).

import type { DevicePtr } from "../../../runtime/cuda/ffi/driver.js";
import { f32, i32, ptr, type TrainDevice } from "./context.js";

export interface AttnDims {
  T: number;
  H: number;
  KH: number;
  Dh: number;
}

/** p: [H, T, T] (probabilities out), out: [T, H·Dh] */
export function attentionForward(td: TrainDevice, d: AttnDims, q: DevicePtr, k: DevicePtr, v: DevicePtr, p: DevicePtr, out: DevicePtr): void {
  const { T, H, KH, Dh } = d;
  const g = H / KH;
  const qld = H * Dh;
  const kld = KH * Dh;
  const TT = T * T;
  for (let r = 0; r < g; r++) {
    // S_h = scale·Q_h·K_kvᵀ, h = kv·g + r
    td.gemm({ tB: true, M: T, N: T, K: Dh, a: q + r * Dh * 4, lda: qld, b: k, ldb: kld, c: p + r * TT * 4, ldc: T, alpha: 1 / Math.sqrt(Dh), batch: { count: KH, sA: g * Dh, sB: Dh, sC: g * TT } });
  }
  td.launch("train_softmax.cu", "causal_softmax_fwd", H * T, 256, [ptr(p), i32(H * T), i32(T)]);
  for (let r = 0; r < g; r++) {
    // O_h = P_h·V_kv
    td.gemm({ M: T, N: Dh, K: T, a: p + r * TT * 4, lda: T, b: v, ldb: kld, c: out + r * Dh * 4, ldc: qld, batch: { count: KH, sA: g * TT, sB: Dh, sC: g * Dh } });
  }
}

/** dout: [T, H·Dh] → dq [T, H·Dh], dk, dv [T, KH·Dh] (w.r.t. the post-RoPE q, k); ds: [H, T, T] scratch */
export function attentionBackward(
  td: TrainDevice, d: AttnDims, dout: DevicePtr, q: DevicePtr, k: DevicePtr, v: DevicePtr, p: DevicePtr, ds: DevicePtr,
  dq: DevicePtr, dk: DevicePtr, dv: DevicePtr,
): void {
  const { T, H, KH, Dh } = d;
  const g = H / KH;
  const qld = H * Dh;
  const kld = KH * Dh;
  const TT = T * T;
  for (let r = 0; r < g; r++) {
    const heads = (sA: number, sB: number, sC: number) => ({ count: KH, sA, sB, sC });
    // dV_kv += P_hᵀ·dO_h
    td.gemm({ tA: true, M: T, N: Dh, K: T, a: p + r * TT * 4, lda: T, b: dout + r * Dh * 4, ldb: qld, c: dv, ldc: kld, beta: r > 0 ? 1 : 0, batch: heads(g * TT, g * Dh, Dh) });
    // dP_h = dO_h·V_kvᵀ
    td.gemm({ tB: true, M: T, N: T, K: Dh, a: dout + r * Dh * 4, lda: qld, b: v, ldb: kld, c: ds + r * TT * 4, ldc: T, batch: heads(g * Dh, Dh, g * TT) });
  }
  td.launch("train_softmax.cu", "causal_softmax_bwd", H * T, 256, [ptr(ds), ptr(p), i32(H * T), i32(T), f32(1 / Math.sqrt(Dh))]);
  for (let r = 0; r < g; r++) {
    const heads = (sA: number, sB: number, sC: number) => ({ count: KH, sA, sB, sC });
    // dQ_h = dS_h·K_kv
    td.gemm({ M: T, N: Dh, K: T, a: ds + r * TT * 4, lda: T, b: k, ldb: kld, c: dq + r * Dh * 4, ldc: qld, batch: heads(g * TT, Dh, g * Dh) });
    // dK_kv += dS_hᵀ·Q_h
    td.gemm({ tA: true, M: T, N: Dh, K: T, a: ds + r * TT * 4, lda: T, b: q + r * Dh * 4, ldb: qld, c: dk, ldc: kld, beta: r > 0 ? 1 : 0, batch: heads(g * TT, g * Dh, Dh) });
  }
}
