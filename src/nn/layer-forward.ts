// One decoder layer's forward (Llama / Mistral / Qwen2 dense, Mixtral / Qwen2-MoE sparse) against the Ops table.
// x: [W·L, D] (W windows of L tokens) → [W·L, D]
// spec.actBits (config.json memc_activation_quant): per-token activation fake-quant (Ops.actQuant) where OmniQuant's
// QuantLlamaDecoderLayer quantizes activations: every Linear input, q and k after RoPE and v per (token, head).

import type { ModelSpec } from "../model/config.js";
import type { DeviceTensor, Ops } from "../runtime/ops.js";
import type { LayerTensors, Mlp } from "./layer-weights.js";

/** x quantized per row of rowLen when bits is set (a new tensor; x is freed), else x itself */
async function maybeQuant<T extends DeviceTensor>(ops: Ops<T>, x: T, rowLen: number, bits?: number): Promise<T> {
  if (!bits) return x;
  const y = await ops.actQuant(x, rowLen, bits);
  ops.free(x);
  return y;
}

/** x: the (already activation-quantized) input of gate/up; bits: quantize the input of down too */
async function mlpForward<T extends DeviceTensor>(ops: Ops<T>, m: Mlp<T>, x: T, bits?: number): Promise<T> {
  // the fused backend path has no activation quantizer between SwiGLU and down_proj
  if (ops.mlp && !bits) return ops.mlp(x, m);
  const g = await ops.linear(x, m.gate);
  const u = await ops.linear(x, m.up);
  const h = await maybeQuant(ops, await ops.swiglu(g, u), m.down.shape[1]!, bits);
  ops.free(g);
  ops.free(u);
  const y = await ops.linear(h, m.down);
  ops.free(h);
  return y;
}

async function attentionBlock<T extends DeviceTensor>(ops: Ops<T>, spec: ModelSpec, l: LayerTensors<T>, x: T, L: number): Promise<T> {
  const { heads: H, kvHeads: KH, headDim: Dh, ropeTheta } = spec;
  const proj = [{ w: l.q, bias: l.qBias }, { w: l.k, bias: l.kBias }, { w: l.v, bias: l.vBias }];
  const [q0, k0, v] = (ops.linearMany ? await ops.linearMany(x, proj) : [await ops.linear(x, l.q, l.qBias), await ops.linear(x, l.k, l.kBias), await ops.linear(x, l.v, l.vBias)]) as [T, T, T];
  const bits = spec.actBits;
  const q = await maybeQuant(ops, await ops.rope(q0, H, Dh, ropeTheta, L), Dh, bits);
  const k = await maybeQuant(ops, await ops.rope(k0, KH, Dh, ropeTheta, L), Dh, bits);
  ops.free(q0);
  ops.free(k0);
  const vq = await maybeQuant(ops, v, Dh, bits);
  const a = await maybeQuant(ops, await ops.attention(q, k, vq, H, KH, Dh, L), H * Dh, bits);
  for (const z of [q, k, vq]) ops.free(z);
  const o = await ops.linear(a, l.o);
  ops.free(a);
  return o;
}

/** The primitive-op MoE path: routing comes back to the host, then per expert a gather, its MLP and a weighted
 *  scatter-add (ascending expert order) into zeros. logits: [S, E] (freed here) → [S, D] */
async function routedExperts<T extends DeviceTensor>(ops: Ops<T>, moe: NonNullable<ModelSpec["moe"]>, l: LayerTensors<T>, x: T, logits: T): Promise<T> {
  const { experts, weights } = await ops.route(logits, moe.topK, moe.normTopK);
  ops.free(logits);
  const out = await ops.zeros([x.shape[0]!, x.shape[1]!]);
  for (let e = 0; e < moe.experts; e++) {
    const rows: number[] = [];
    const scale: number[] = [];
    for (let i = 0; i < experts.length; i++) {
      if (experts[i] === e) {
        rows.push(Math.floor(i / moe.topK));
        scale.push(weights[i]!);
      }
    }
    if (rows.length === 0) continue;
    const idx = Int32Array.from(rows);
    const xe = await ops.gatherRows(x, idx);
    const y = await mlpForward(ops, l.experts![e]!, xe);
    await ops.scatterAddRows(out, y, idx, Float32Array.from(scale));
    ops.free(xe);
    ops.free(y);
  }
  return out;
}

/** Sparse MoE: softmax top-k routing (router in full precision), each expert on its tokens, weighted scatter-add. */
async function moeBlock<T extends DeviceTensor>(ops: Ops<T>, spec: ModelSpec, l: LayerTensors<T>, x: T): Promise<T> {
  const moe = spec.moe!;
  const logits = await ops.linear(x, l.router!);
  let out: T;
  if (ops.moeExperts) {
    out = await ops.moeExperts(x, logits, l.experts!, moe.topK, moe.normTopK);
    ops.free(logits);
  } else out = await routedExperts(ops, moe, l, x, logits);
  if (l.shared) {
    const s0 = await mlpForward(ops, l.shared, x);
    const s = l.sharedGate ? await ops.sigmoidGate(x, l.sharedGate, s0) : s0;
    const sum = await ops.add(out, s);
    for (const z of new Set([out, s0, s])) ops.free(z);
    out = sum;
  }
  return out;
}

export async function layerForward<T extends DeviceTensor>(ops: Ops<T>, spec: ModelSpec, l: LayerTensors<T>, x: T, windowLen: number): Promise<T> {
  const xn = await maybeQuant(ops, await ops.rmsnorm(x, l.inputNorm, spec.rmsEps), spec.hidden, spec.actBits);
  const attn = await attentionBlock(ops, spec, l, xn, windowLen);
  ops.free(xn);
  const [h, hn] = ops.addRmsnorm ? await ops.addRmsnorm(x, attn, l.postNorm, spec.rmsEps) : [await ops.add(x, attn), undefined];
  ops.free(attn);
  const hq = await maybeQuant(ops, hn ?? (await ops.rmsnorm(h, l.postNorm, spec.rmsEps)), spec.hidden, spec.actBits);
  if (spec.actBits && !l.mlp) throw new Error("activation quantization (memc_activation_quant) is implemented for dense layers only");
  const m = l.mlp ? await mlpForward(ops, l.mlp, hq, spec.actBits) : await moeBlock(ops, spec, l, hq);
  ops.free(hq);
  const y = await ops.add(h, m);
  ops.free(h);
  ops.free(m);
  return y;
}
