// Causal GQA attention forward/backward on the device (the math of src/nn/train/attention.ts, transformers
// LlamaAttention eager path): scores [H, T, T] materialised, one cuBLAS strided-batched GEMM per query head of a kv
// group (batched over the KH kv heads), causal softmax kernels. q: [T, H·Dh], k, v: [T, KH·Dh] in the Linear layout
// (head h reads kv head ⌊h·KH/H⌋ = ⌊h/g⌋); no layout copies. GQA gradients of k, v sum over the g heads (beta = 1).
// Low-precision variant (`lp`, bf16 GEMM mode; torch autocast's eager attention: fp32 softmax, half-precision GEMM
// operands): q, k, v (and dO) are cast to bf16 once; the scores S and dP stay fp32 (GEMM outputs, softmax inputs), the
// probabilities P and dS are stored in bf16 and feed bf16 tensor-core GEMMs with fp32 accumulate and fp32 outputs. The
// backward then writes dP into p (S is dead after the forward): one backward per forward. The low-precision path also
// skips most of the causal future: queries go in row blocks of `rowBlock` rows, and block [i0, i1) computes, stores
// and reads only score columns < i1 (its GEMMs take K = i1 keys), so S, P, dP, dS touch ≈ (n+1)/2n of [T, T] for n
// blocks; the dV, dK sums over blocks run last block first (it covers every key row, so it writes with beta 0).

import type { DevicePtr } from "../../../runtime/cuda/ffi/driver.js";
import { R_16BF } from "../../../runtime/cuda/ffi/cublas.js";
import { f32, i32, ptr, type TrainDevice } from "./context.js";

export interface AttnDims {
  T: number;
  H: number;
  KH: number;
  Dh: number;
}

/** bf16 buffers of the low-precision path: q16 [T, H·Dh], k16, v16 [T, KH·Dh], p16 [H, T, T]; backward: do16 [T, H·Dh]
 *  and ds16 [H, T, T] */
export interface AttnLowp {
  q16: DevicePtr;
  k16: DevicePtr;
  v16: DevicePtr;
  p16: DevicePtr;
  do16?: DevicePtr;
  ds16?: DevicePtr;
  /** query rows per block (default: defaultRowBlock(T); ≥ T: one block) */
  rowBlock?: number;
}

/** 4 query blocks (rows a multiple of 64) from T = 1024 on — S, P, dP, dS then cover 5/8 of [T, T] — else one block:
 *  at short windows the extra GEMM launches cost more than the skipped work */
export function defaultRowBlock(T: number): number {
  return T >= 1024 ? Math.ceil(T / 4 / 64) * 64 : T;
}

/** the query row blocks [i0, i1) of the low-precision path */
function rowBlocks(T: number, bs: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i0 = 0; i0 < T; i0 += bs) out.push([i0, Math.min(T, i0 + bs)]);
  return out;
}

const BF = { aType: R_16BF, bType: R_16BF };

/** p: [H, T, T] (probabilities out; with lp the fp32 scores, the probabilities go to lp.p16), out: [T, H·Dh] */
export function attentionForward(td: TrainDevice, d: AttnDims, q: DevicePtr, k: DevicePtr, v: DevicePtr, p: DevicePtr, out: DevicePtr, lp?: AttnLowp): void {
  const { T, H, KH, Dh } = d;
  const g = H / KH;
  const qld = H * Dh;
  const kld = KH * Dh;
  const TT = T * T;
  if (lp) {
    const bs = Math.min(T, lp.rowBlock ?? defaultRowBlock(T));
    td.castBf16(lp.q16, q, T * qld);
    td.castBf16(lp.k16, k, T * kld);
    td.castBf16(lp.v16, v, T * kld);
    const heads = { count: KH, sA: g * Dh, sB: Dh, sC: g * TT };
    for (let r = 0; r < g; r++) {
      for (const [i0, i1] of rowBlocks(T, bs)) {
        // S_h[i0:i1, :i1] = scale·Q_h[i0:i1]·K_kv[:i1]ᵀ
        td.gemm({ ...BF, tB: true, M: i1 - i0, N: i1, K: Dh, a: lp.q16 + (i0 * qld + r * Dh) * 2, lda: qld, b: lp.k16, ldb: kld, c: p + (r * TT + i0 * T) * 4, ldc: T, alpha: 1 / Math.sqrt(Dh), batch: heads });
      }
    }
    td.launch("train_softmax.cu", "causal_softmax_fwd_bf16", H * T, 256, [ptr(lp.p16), ptr(p), i32(H * T), i32(T), i32(bs)]);
    for (let r = 0; r < g; r++) {
      for (const [i0, i1] of rowBlocks(T, bs)) {
        // O_h[i0:i1] = P_h[i0:i1, :i1]·V_kv[:i1]
        td.gemm({ ...BF, M: i1 - i0, N: Dh, K: i1, a: lp.p16 + (r * TT + i0 * T) * 2, lda: T, b: lp.v16, ldb: kld, c: out + (i0 * qld + r * Dh) * 4, ldc: qld, batch: { count: KH, sA: g * TT, sB: Dh, sC: g * Dh } });
      }
    }
    return;
  }
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

/** dout: [T, H·Dh] → dq [T, H·Dh], dk, dv [T, KH·Dh] (w.r.t. the post-RoPE q, k); ds: [H, T, T] scratch. With lp (the
 *  buffers of the forward's lp, plus do16 and ds16): p is overwritten with dP and ds is unused. */
export function attentionBackward(
  td: TrainDevice, d: AttnDims, dout: DevicePtr, q: DevicePtr, k: DevicePtr, v: DevicePtr, p: DevicePtr, ds: DevicePtr,
  dq: DevicePtr, dk: DevicePtr, dv: DevicePtr, lp?: AttnLowp,
): void {
  const { T, H, KH, Dh } = d;
  const g = H / KH;
  const qld = H * Dh;
  const kld = KH * Dh;
  const TT = T * T;
  const heads = (sA: number, sB: number, sC: number) => ({ count: KH, sA, sB, sC });
  if (lp) {
    if (!lp.do16 || !lp.ds16) throw new Error("attentionBackward: the low-precision path needs do16 and ds16");
    const { q16, k16, v16, p16, do16, ds16 } = lp;
    const bs = Math.min(T, lp.rowBlock ?? defaultRowBlock(T));
    const blocks = rowBlocks(T, bs).reverse();
    td.castBf16(do16, dout, T * qld);
    for (let r = 0; r < g; r++) {
      blocks.forEach(([i0, i1], j) => {
        // dV_kv[:i1] += P_h[i0:i1, :i1]ᵀ·dO_h[i0:i1]
        td.gemm({ ...BF, tA: true, M: i1, N: Dh, K: i1 - i0, a: p16 + (r * TT + i0 * T) * 2, lda: T, b: do16 + (i0 * qld + r * Dh) * 2, ldb: qld, c: dv, ldc: kld, beta: r > 0 || j > 0 ? 1 : 0, batch: heads(g * TT, g * Dh, Dh) });
        // dP_h[i0:i1, :i1] = dO_h[i0:i1]·V_kv[:i1]ᵀ
        td.gemm({ ...BF, tB: true, M: i1 - i0, N: i1, K: Dh, a: do16 + (i0 * qld + r * Dh) * 2, lda: qld, b: v16, ldb: kld, c: p + (r * TT + i0 * T) * 4, ldc: T, batch: heads(g * Dh, Dh, g * TT) });
      });
    }
    td.launch("train_softmax.cu", "causal_softmax_bwd_bf16", H * T, 256, [ptr(ds16), ptr(p), ptr(p16), i32(H * T), i32(T), f32(1 / Math.sqrt(Dh)), i32(bs)]);
    for (let r = 0; r < g; r++) {
      blocks.forEach(([i0, i1], j) => {
        // dQ_h[i0:i1] = dS_h[i0:i1, :i1]·K_kv[:i1]
        td.gemm({ ...BF, M: i1 - i0, N: Dh, K: i1, a: ds16 + (r * TT + i0 * T) * 2, lda: T, b: k16, ldb: kld, c: dq + (i0 * qld + r * Dh) * 4, ldc: qld, batch: heads(g * TT, Dh, g * Dh) });
        // dK_kv[:i1] += dS_h[i0:i1, :i1]ᵀ·Q_h[i0:i1]
        td.gemm({ ...BF, tA: true, M: i1, N: Dh, K: i1 - i0, a: ds16 + (r * TT + i0 * T) * 2, lda: T, b: q16 + (i0 * qld + r * Dh) * 2, ldb: qld, c: dk, ldc: kld, beta: r > 0 || j > 0 ? 1 : 0, batch: heads(g * TT, g * Dh, Dh) });
      });
    }
    return;
  }
  for (let r = 0; r < g; r++) {
    // dV_kv += P_hᵀ·dO_h
    td.gemm({ tA: true, M: T, N: Dh, K: T, a: p + r * TT * 4, lda: T, b: dout + r * Dh * 4, ldb: qld, c: dv, ldc: kld, beta: r > 0 ? 1 : 0, batch: heads(g * TT, g * Dh, Dh) });
    // dP_h = dO_h·V_kvᵀ
    td.gemm({ tB: true, M: T, N: T, K: Dh, a: dout + r * Dh * 4, lda: qld, b: v, ldb: kld, c: ds + r * TT * 4, ldc: T, batch: heads(g * Dh, Dh, g * TT) });
  }
  td.launch("train_softmax.cu", "causal_softmax_bwd", H * T, 256, [ptr(ds), ptr(p), i32(H * T), i32(T), f32(1 / Math.sqrt(Dh))]);
  for (let r = 0; r < g; r++) {
    // dQ_h = dS_h·K_kv
    td.gemm({ M: T, N: Dh, K: T, a: ds + r * TT * 4, lda: T, b: k, ldb: kld, c: dq + r * Dh * 4, ldc: qld, batch: heads(g * TT, Dh, g * Dh) });
    // dK_kv += dS_hᵀ·Q_h
    td.gemm({ tA: true, M: T, N: Dh, K: T, a: ds + r * TT * 4, lda: T, b: q + r * Dh * 4, ldb: qld, c: dk, ldc: kld, beta: r > 0 ? 1 : 0, batch: heads(g * TT, g * Dh, Dh) });
  }
}
