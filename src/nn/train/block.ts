// One decoder layer, forward with saved activations and explicit backward (llm.c style), for the Llama family
// (transformers LlamaDecoderLayer) and Mixtral (MixtralDecoderLayer: sparse MoE MLP, router kept in full precision).
//   x → n1 = rms(x) → q,k,v → rope(q,k) → causal GQA attn → o → h = x + o → n2 = rms(h) → mlp|moe → y = h + m
// With dims.abits (OmniQuant weight-activation mode, models/int_llama_layer.py QuantLlamaDecoderLayer) per-token dynamic
// fake-quant (act-quant.ts) sits where the reference has act quantizers: the input of every Linear (q/k/v share one,
// o, gate/up share one, down) and q, k after RoPE and v, per (token, head) row of Dh (qkt_matmul / pv_matmul quant_x1/x2;
// the softmax probabilities stay at 16 bits there, i.e. unquantized).

import { actquant_backward, actquant_forward, type ActQuantCache } from "./act-quant.js";
import { attention_backward, attention_forward, type AttnCache } from "./attention.js";
import { linear_backward, linear_forward } from "./linear.js";
import { mlp_backward, mlp_forward, type MlpCache, type MlpWeights } from "./mlp.js";
import { moe_backward, moe_forward, type MoeCache } from "./moe.js";
import { rmsnorm_backward, rmsnorm_forward } from "./rmsnorm.js";
import { rope_backward, rope_forward } from "./rope.js";
import { residual_forward } from "./swiglu.js";

export interface BlockDims {
  /** tokens in the window (positions 0..T−1) */
  T: number;
  D: number;
  H: number;
  KH: number;
  Dh: number;
  /** MLP (or per-expert) width */
  F: number;
  eps: number;
  theta: number;
  /** MoE top-k (Mixtral: softmax over all experts, top-k, renormalised) */
  topK?: number;
  /** activation bits (weight-activation mode); undefined = activations in full precision */
  abits?: number;
}

export interface BlockWeights {
  inputNorm: Float32Array; // [D]
  postNorm: Float32Array; // [D]
  q: Float32Array; // [H·Dh, D]
  k: Float32Array; // [KH·Dh, D]
  v: Float32Array; // [KH·Dh, D]
  o: Float32Array; // [D, H·Dh]
  mlp?: MlpWeights;
  router?: Float32Array; // [E, D], never quantized, no gradient
  experts?: MlpWeights[];
}

export interface BlockGrads {
  dx?: Float32Array;
  /** present only when the backward went down to the block input (wantDx) */
  inputNorm?: Float32Array;
  postNorm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  mlp?: MlpWeights;
  /** undefined for experts no token was routed to (zero gradient) */
  experts?: (MlpWeights | undefined)[];
}

export interface BlockCache {
  x: Float32Array;
  n1: Float32Array;
  rstd1: Float32Array;
  att: AttnCache;
  attOut: Float32Array;
  h: Float32Array;
  n2: Float32Array;
  rstd2: Float32Array;
  mlp?: MlpCache;
  moe?: MoeCache;
  /** activation-quantizer caches (dims.abits): inputs of q/k/v, o, gate/up; q, k after RoPE; v */
  aq?: { n1: ActQuantCache; q: ActQuantCache; k: ActQuantCache; v: ActQuantCache; att: ActQuantCache; n2: ActQuantCache };
}

/** x: [T, D] → y [T, D] and the activations the backward needs */
export async function block_forward(x: Float32Array, w: BlockWeights, d: BlockDims): Promise<{ y: Float32Array; cache: BlockCache }> {
  const { T, D, H, KH, Dh, F, abits } = d;
  const aq = (v: Float32Array, rows: number, cols: number) => (abits ? actquant_forward(v, rows, cols, abits) : undefined);
  const { out: n1raw, rstd: rstd1 } = rmsnorm_forward(x, w.inputNorm, T, D, d.eps);
  const aN1 = aq(n1raw, T, D);
  const n1 = aN1 ? aN1.out : n1raw;
  const q0 = rope_forward(await linear_forward(n1, w.q, T, D, H * Dh), T, H, Dh, d.theta);
  const k0 = rope_forward(await linear_forward(n1, w.k, T, D, KH * Dh), T, KH, Dh, d.theta);
  const v0 = await linear_forward(n1, w.v, T, D, KH * Dh);
  const aQ = aq(q0, T * H, Dh);
  const aK = aq(k0, T * KH, Dh);
  const aV = aq(v0, T * KH, Dh);
  const { out: att0, cache: att } = await attention_forward(aQ?.out ?? q0, aK?.out ?? k0, aV?.out ?? v0, T, H, KH, Dh);
  const aAtt = aq(att0, T, H * Dh);
  const attOut = aAtt ? aAtt.out : att0;
  const h = residual_forward(x, await linear_forward(attOut, w.o, T, H * Dh, D));
  const { out: n2raw, rstd: rstd2 } = rmsnorm_forward(h, w.postNorm, T, D, d.eps);
  const aN2 = aq(n2raw, T, D);
  const n2 = aN2 ? aN2.out : n2raw;
  const cache: BlockCache = { x, n1, rstd1, att, attOut, h, n2, rstd2 };
  if (aN1 && aQ && aK && aV && aAtt && aN2) cache.aq = { n1: aN1.cache, q: aQ.cache, k: aK.cache, v: aV.cache, att: aAtt.cache, n2: aN2.cache };
  let m: Float32Array;
  if (w.mlp) {
    const r = await mlp_forward(n2, w.mlp, T, D, F, abits);
    m = r.out;
    cache.mlp = r.cache;
  } else if (w.router && w.experts && d.topK) {
    if (abits) throw new Error("block_forward: activation quantization is implemented for dense (Llama) layers only");
    const r = await moe_forward(n2, w.router, w.experts, T, D, F, d.topK);
    m = r.out;
    cache.moe = r.cache;
  } else {
    throw new Error("block_forward: layer has neither a dense MLP nor router + experts + topK");
  }
  return { y: residual_forward(h, m), cache };
}

/** dy: [T, D] → weight grads (and dx [T, D] when wantDx) */
export async function block_backward(dy: Float32Array, c: BlockCache, w: BlockWeights, d: BlockDims, wantDx = false): Promise<BlockGrads> {
  const { T, D, H, KH, Dh, F } = d;
  const g: Partial<BlockGrads> = { postNorm: new Float32Array(D) };
  let dn2: Float32Array;
  if (c.mlp && w.mlp) {
    const r = await mlp_backward(dy, c.mlp, w.mlp, T, D, F);
    dn2 = r.dx;
    g.mlp = r.dw;
  } else {
    const r = await moe_backward(dy, c.moe!, w.router!, w.experts!, T, D, F);
    dn2 = r.dx;
    g.experts = r.dw;
  }
  if (c.aq) dn2 = actquant_backward(dn2, c.aq.n2);
  const dh = rmsnorm_backward(dn2, c.h, w.postNorm, c.rstd2, T, D, Float32Array.from(dy), g.postNorm);
  const dO = await linear_backward(dh, c.attOut, w.o, T, H * Dh, D);
  g.o = dO.dw;
  let { dq, dk, dv } = await attention_backward(c.aq ? actquant_backward(dO.dx!, c.aq.att) : dO.dx!, c.att, T, H, KH, Dh);
  if (c.aq) {
    dq = actquant_backward(dq, c.aq.q);
    dk = actquant_backward(dk, c.aq.k);
    dv = actquant_backward(dv, c.aq.v);
  }
  const gq = await linear_backward(rope_backward(dq, T, H, Dh, d.theta), c.n1, w.q, T, D, H * Dh, wantDx);
  const gk = await linear_backward(rope_backward(dk, T, KH, Dh, d.theta), c.n1, w.k, T, D, KH * Dh, wantDx);
  const gv = await linear_backward(dv, c.n1, w.v, T, D, KH * Dh, wantDx);
  g.q = gq.dw;
  g.k = gk.dw;
  g.v = gv.dw;
  if (wantDx) {
    let dn1 = gq.dx!;
    for (let i = 0; i < dn1.length; i++) dn1[i] = dn1[i]! + gk.dx![i]! + gv.dx![i]!;
    if (c.aq) dn1 = actquant_backward(dn1, c.aq.n1);
    g.inputNorm = new Float32Array(D);
    g.dx = rmsnorm_backward(dn1, c.x, w.inputNorm, c.rstd1, T, D, Float32Array.from(dh), g.inputNorm);
  }
  return g as BlockGrads;
}

/** Forward only, no cache kept beyond the call: x [T, D] → y [T, D] */
export async function block_infer(x: Float32Array, w: BlockWeights, d: BlockDims): Promise<Float32Array> {
  return (await block_forward(x, w, d)).y;
}
