// LET, learnable equivalent transformation (OmniQuant, OpenGVLab/OmniQuant models/int_llama_layer.py
// QuantLlamaDecoderLayer.smooth_and_quant_temporary + models/transformation.py smooth_ln_fcs / smooth_fc_fc / smooth_q_k,
// init from quantize/omniquant.py), as pure functions: params → transformed block weights, and grads of the transformed
// weights/norms → grads of the params. No state, no device: the same math can run wherever the block runs.
//
// Llama family, in the reference's order (s > 0 after truncation):
//   qkv  [D]      LN1 → q,k,v:  inputNorm' = inputNorm / s;   q', k', v' columns · s          (smooth_ln_fcs)
//   fc1  [D]      LN2 → gate,up: postNorm' = postNorm / s;    gate', up' columns · s          (smooth_ln_fcs)
//   out  [KH·Dh]  v → o:         v' rows / s;                  o' columns · s                  (smooth_fc_fc)
//   qkt  [KH·Dh]  q ↔ k:         q' rows / s;                  k' rows · s                     (smooth_q_k)
//   down_proj is not transformed.
// Per-family differences in the reference: shifts (a bias on the norm and W·shift on the following Linears) exist for
// OPT/Falcon; algorithms.md §1.1 (HEAD 95fae1b) keeps them off for LLaMA, and a Llama checkpoint has no place for the
// biases, so memc has scales only. The reference assumes multi-head attention (v rows = o columns, q rows = k rows);
// with GQA (llama-s: 6 query / 2 kv heads) memc puts `out` and `qkt` on the KH·Dh kv channels and repeats them over each
// group of query heads (o columns / q rows of head h use kv head ⌊h·KH/H⌋), which is exactly equivalent for v → o and
// reduces to the reference when KH = H. The q/k scale acts before RoPE, as in the reference, so it is an exact
// equivalence only where the rotate-half pair (i, i + Dh/2) shares a scale; what is trained is what is written, though.
// Mixtral is LWC only in the reference (no LET).

import type { BlockDims, BlockWeights } from "../../nn/train/block.js";

export interface LetParams {
  qkv: Float32Array;
  fc1: Float32Array;
  out: Float32Array;
  qkt: Float32Array;
}

export const LET_KEYS = ["qkv", "fc1", "out", "qkt"] as const;

/** Gradients w.r.t. the transformed tensors that depend on LET (what block_backward + Lwc.inputGrad return). */
export interface LetTensorGrads {
  inputNorm: Float32Array;
  postNorm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  gate: Float32Array;
  up: Float32Array;
}

/** Per-channel |x| maxima over the calibration tokens of the inputs of q_proj (= k, v), o_proj and up_proj (= gate). */
export interface ActMaxima {
  n1: Float32Array; // [D]
  att: Float32Array; // [H·Dh]
  n2: Float32Array; // [D]
}

/** kv channel of query channel r (head ⌊r/Dh⌋ reads kv head ⌊h·KH/H⌋) */
function kvChannel(r: number, d: BlockDims): number {
  const h = Math.floor(r / d.Dh);
  return Math.floor((h * d.KH) / d.H) * d.Dh + (r % d.Dh);
}

/** utils.truncate_number, applied in place under no_grad before every transform: |s| < 1e-2 → sign(s)·1e-2. */
export function truncateLet(p: LetParams, threshold = 1e-2): void {
  for (const k of LET_KEYS) {
    const s = p[k];
    for (let i = 0; i < s.length; i++) if (Math.abs(s[i]!) < threshold) s[i] = Math.sign(s[i]!) * threshold;
  }
}

/** Running per-channel max of |x| over the rows of x [rows, C] into acc [C] (generate_act_scale_shift.py). */
export function accumulateAbsMax(acc: Float32Array, x: Float32Array): void {
  const C = acc.length;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    const c = i % C;
    if (a > acc[c]!) acc[c] = a;
  }
}

/** quantize/omniquant.py init: s = clamp(act^α / w^(1−α), 1e-5), act = clamp(act_max, 1e-5),
 *  w = clamp(W.max(dim=0), 1e-5) of q_proj (qkv), up_proj (fc1) and o_proj (out); qkt = 1. Note the reference takes the
 *  signed column max of W (no abs), and so does this. For GQA the o_proj channels of one kv channel are max-reduced. */
export function initLet(fp: BlockWeights, act: ActMaxima, d: BlockDims, alpha: number): LetParams {
  const { D, H, KH, Dh } = d;
  const colMax = (w: Float32Array, rows: number, cols: number) => {
    const m = new Float32Array(cols).fill(-Infinity);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (w[r * cols + c]! > m[c]!) m[c] = w[r * cols + c]!;
    return m;
  };
  const smooth = (a: number, w: number) => Math.max(Math.max(a, 1e-5) ** alpha / Math.max(w, 1e-5) ** (1 - alpha), 1e-5);
  const qMax = colMax(fp.q, H * Dh, D);
  const upMax = colMax(fp.mlp!.up, d.F, D);
  const oMax = colMax(fp.o, D, H * Dh);
  const qkv = new Float32Array(D);
  const fc1 = new Float32Array(D);
  for (let c = 0; c < D; c++) {
    qkv[c] = smooth(act.n1[c]!, qMax[c]!);
    fc1[c] = smooth(act.n2[c]!, upMax[c]!);
  }
  const aKv = new Float32Array(KH * Dh).fill(-Infinity);
  const wKv = new Float32Array(KH * Dh).fill(-Infinity);
  for (let r = 0; r < H * Dh; r++) {
    const j = kvChannel(r, d);
    aKv[j] = Math.max(aKv[j]!, act.att[r]!);
    wKv[j] = Math.max(wKv[j]!, oMax[r]!);
  }
  const out = new Float32Array(KH * Dh);
  for (let j = 0; j < KH * Dh; j++) out[j] = smooth(aKv[j]!, wKv[j]!);
  return { qkv, fc1, out, qkt: new Float32Array(KH * Dh).fill(1) };
}

/** fp block + LET params → a block whose norms and q/k/v/o/gate/up are the transformed tensors (down shared). */
export function letTransform(fp: BlockWeights, p: LetParams, d: BlockDims): BlockWeights {
  const { D, H, KH, Dh, F } = d;
  if (!fp.mlp) throw new Error("LET: dense MLP layers only (the reference's Mixtral path is LWC only)");
  const inputNorm = new Float32Array(D);
  const postNorm = new Float32Array(D);
  for (let c = 0; c < D; c++) {
    inputNorm[c] = fp.inputNorm[c]! / p.qkv[c]!;
    postNorm[c] = fp.postNorm[c]! / p.fc1[c]!;
  }
  const q = new Float32Array(H * Dh * D);
  for (let r = 0; r < H * Dh; r++) {
    const s = p.qkt[kvChannel(r, d)]!;
    for (let c = 0; c < D; c++) q[r * D + c] = (fp.q[r * D + c]! * p.qkv[c]!) / s;
  }
  const k = new Float32Array(KH * Dh * D);
  const v = new Float32Array(KH * Dh * D);
  for (let r = 0; r < KH * Dh; r++) {
    for (let c = 0; c < D; c++) {
      k[r * D + c] = fp.k[r * D + c]! * p.qkv[c]! * p.qkt[r]!;
      v[r * D + c] = (fp.v[r * D + c]! * p.qkv[c]!) / p.out[r]!;
    }
  }
  const HD = H * Dh;
  const o = new Float32Array(D * HD);
  const sO = new Float32Array(HD);
  for (let c = 0; c < HD; c++) sO[c] = p.out[kvChannel(c, d)]!;
  for (let r = 0; r < D; r++) for (let c = 0; c < HD; c++) o[r * HD + c] = fp.o[r * HD + c]! * sO[c]!;
  const gate = new Float32Array(F * D);
  const up = new Float32Array(F * D);
  for (let r = 0; r < F; r++) {
    for (let c = 0; c < D; c++) {
      gate[r * D + c] = fp.mlp.gate[r * D + c]! * p.fc1[c]!;
      up[r * D + c] = fp.mlp.up[r * D + c]! * p.fc1[c]!;
    }
  }
  return { ...fp, inputNorm, postNorm, q, k, v, o, mlp: { gate, up, down: fp.mlp.down } };
}

/** Chain rule of letTransform: grads of the transformed tensors → grads of the LET params (same shapes as p). */
export function letBackward(fp: BlockWeights, p: LetParams, g: LetTensorGrads, d: BlockDims): LetParams {
  const { D, H, KH, Dh, F } = d;
  const mlp = fp.mlp!;
  const dqkv = new Float32Array(D);
  const dfc1 = new Float32Array(D);
  const dout = new Float32Array(KH * Dh);
  const dqkt = new Float32Array(KH * Dh);
  for (let c = 0; c < D; c++) {
    dqkv[c] = (-g.inputNorm[c]! * fp.inputNorm[c]!) / (p.qkv[c]! * p.qkv[c]!);
    dfc1[c] = (-g.postNorm[c]! * fp.postNorm[c]!) / (p.fc1[c]! * p.fc1[c]!);
  }
  // q'[r,c] = q·s_qkv[c] / s_qkt[j(r)]
  for (let r = 0; r < H * Dh; r++) {
    const j = kvChannel(r, d);
    const sj = p.qkt[j]!;
    let acc = 0;
    for (let c = 0; c < D; c++) {
      const gw = g.q[r * D + c]! * fp.q[r * D + c]!;
      dqkv[c] = dqkv[c]! + gw / sj;
      acc += gw * p.qkv[c]!;
    }
    dqkt[j] = dqkt[j]! - acc / (sj * sj);
  }
  // k'[r,c] = k·s_qkv[c]·s_qkt[r];  v'[r,c] = v·s_qkv[c] / s_out[r]
  for (let r = 0; r < KH * Dh; r++) {
    let accK = 0;
    let accV = 0;
    for (let c = 0; c < D; c++) {
      const gk = g.k[r * D + c]! * fp.k[r * D + c]!;
      const gv = g.v[r * D + c]! * fp.v[r * D + c]!;
      dqkv[c] = dqkv[c]! + gk * p.qkt[r]! + gv / p.out[r]!;
      accK += gk * p.qkv[c]!;
      accV += gv * p.qkv[c]!;
    }
    dqkt[r] = dqkt[r]! + accK;
    dout[r] = dout[r]! - accV / (p.out[r]! * p.out[r]!);
  }
  // o'[r,c] = o·s_out[j(c)]
  const HD = H * Dh;
  for (let r = 0; r < D; r++) for (let c = 0; c < HD; c++) {
    const j = kvChannel(c, d);
    dout[j] = dout[j]! + g.o[r * HD + c]! * fp.o[r * HD + c]!;
  }
  // gate', up'[r,c] = W·s_fc1[c]
  for (let r = 0; r < F; r++) for (let c = 0; c < D; c++) {
    dfc1[c] = dfc1[c]! + g.gate[r * D + c]! * mlp.gate[r * D + c]! + g.up[r * D + c]! * mlp.up[r * D + c]!;
  }
  return { qkv: dqkv, fc1: dfc1, out: dout, qkt: dqkt };
}
