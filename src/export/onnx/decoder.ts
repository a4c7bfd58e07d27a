// Llama / Mistral / Mixtral decoder as an ONNX graph in standard fp32 ops (transformers' math step by step):
// input_ids int64 [batch, seq] → logits float32 [batch, seq, vocab]. RMSNorm, rotate-half RoPE from cos/sin
// tables, causal GQA attention, SwiGLU MLP or top-k MoE (every expert computed densely, weighted by the router).

import type { ModelSpec } from "../../model/config.js";
import { EMBED, FINAL_NORM, LM_HEAD, layerNames, type ExpertNames } from "../../model/names.js";
import { InputError } from "../../util/errors.js";
import type { QuantLinear } from "../hf/qlinear.js";
import { f32ToF16 } from "../../runtime/dtypes.js";
import { GraphBuilder, T } from "./builder.js";
import { floatInit, linear, type WeightDtype } from "./linear.js";

export interface DecoderSource {
  spec: ModelSpec;
  /** fp32 weight by HF tensor name */
  f32(name: string): Promise<Float32Array>;
  has(name: string): boolean;
  /** codes for a quantized Linear (module name without `.weight`), undefined = dense */
  quant?(mod: string, w: Float32Array, N: number, K: number): Promise<QuantLinear | undefined>;
}

export interface DecoderOptions {
  weightDtype: WeightDtype;
  /** Max sequence length of the rotary tables (default: max_position_embeddings). */
  maxSeq?: number;
  /** Add an `attention_mask` int64 [batch, seq] input: padded keys are masked and positions = cumsum(mask) − 1,
   *  as transformers' generate() does, so left-padded rows score like unpadded ones. */
  attentionMask?: boolean;
}

/** Builds the graph into `g` (inputs, outputs, nodes, initializers). */
export async function buildDecoder(g: GraphBuilder, src: DecoderSource, o: DecoderOptions): Promise<void> {
  const s = src.spec;
  if (s.family === "qwen2_moe" || s.attentionBias) throw new InputError(`ONNX export: model_type ${s.modelType} is not supported yet (llama, mistral, mixtral)`);
  const D = s.hidden, H = s.heads, KvH = s.kvHeads, Dh = s.headDim, V = s.vocab;
  const maxSeq = o.maxSeq ?? s.maxPositions;
  g.input("input_ids", T.INT64, ["batch", "seq"]);
  g.output("logits", T.FLOAT, ["batch", "seq", V]);

  // shared constants
  const consts = new Map<string, string>();
  const c = (name: string, v: number[]) => consts.get(name) ?? (consts.set(name, g.i64(name, [v.length], v)), name);
  const one = g.f32("one", [], [1]);
  const eps = g.f32("rms_eps", [], [s.rmsEps]);
  const axesLast = c("axes_last", [-1]);
  const sShape = g.op("Shape", ["input_ids"], { start: 1, end: 2 }); // [1] = seq
  // causal mask from positions (Range/Greater/Where run on WebGPU too, unlike Trilu/ConstantOfShape)
  const seqF = g.op("Cast", [g.op("Squeeze", [sShape, c("axis0", [0])])], { to: T.FLOAT }); // scalar
  const pos = g.op("Range", [g.f32("zero_f", [], [0]), seqF, one]); // [S]
  const future = g.op("Greater", [g.op("Reshape", [pos, c("row_vec", [1, -1])]), g.op("Reshape", [pos, c("col_vec", [-1, 1])])]); // [S, S]: j > i
  const causal = g.op("Where", [future, g.f32("big_neg", [], [-3.4e38]), g.f32("zero_mask", [], [0])]); // 0 allowed, −3.4e38 future
  const { cos, sin } = ropeTables(s.ropeTheta, Dh, maxSeq);
  const zero1 = c("zero1", [0]);
  const cosT = g.f32("rope_cos", [maxSeq, Dh], cos);
  const sinT = g.f32("rope_sin", [maxSeq, Dh], sin);
  let cosS = g.op("Slice", [cosT, zero1, sShape, zero1]); // [S, Dh]
  let sinS = g.op("Slice", [sinT, zero1, sShape, zero1]);
  let mask = causal;
  if (o.attentionMask) {
    g.input("attention_mask", T.INT64, ["batch", "seq"]);
    const m = g.op("Cast", ["attention_mask"], { to: T.FLOAT }); // [B, S]
    const pos = g.op("Cast", [g.op("Max", [g.op("Sub", [g.op("CumSum", [m, c("axis1", [1])]), one]), g.f32("zero_pos", [], [0])])], { to: T.INT64 });
    const perBatch = (t: string) => g.op("Reshape", [g.op("Gather", [t, pos], { axis: 0 }), c("shape_b1sd", [0, 1, -1, Dh])]); // [B, 1, S, Dh]
    cosS = perBatch(cosT);
    sinS = perBatch(sinT);
    const pad = g.op("Reshape", [g.op("Mul", [g.op("Sub", [one, m]), g.f32("pad_neg", [], [-1e9])]), c("shape_b11s", [0, 1, 1, -1])]); // [B, 1, 1, S]
    mask = g.op("Add", [causal, pad]); // [B, 1, S, S]
  }
  const headsShape = (n: number) => c(`shape_heads_${n}`, [0, 0, n, Dh]);
  const mergeShape = c("shape_merge", [0, 0, H * Dh]);
  const scale = g.f32("attn_scale", [], [1 / Math.sqrt(Dh)]);
  const halfSplit = c("rope_split", [Dh / 2, Dh / 2]);
  const nRep = H / KvH;
  const repShape = c("kv_rep", [1, 1, nRep, 1, 1]);
  const repMerge = c("kv_merge", [0, H, -1, Dh]);

  const rms = (x: string, wName: string) => {
    const ms = g.op("ReduceMean", [g.op("Mul", [x, x]), axesLast], { keepdims: 1 });
    const inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [ms, eps])])]);
    return g.op("Mul", [g.op("Mul", [x, inv]), wName]);
  };
  const normW = async (name: string) => g.f32(name, [D], await src.f32(name));
  const lin = async (x: string, mod: string, N: number, K: number) => {
    const w = await src.f32(`${mod}.weight`);
    if (w.length !== N * K) throw new InputError(`${mod}.weight: expected [${N}, ${K}], found ${w.length} values`);
    const ql = src.quant ? await src.quant(mod, w, N, K) : undefined;
    return linear(g, x, mod, w, N, K, o.weightDtype, ql);
  };
  const rope = (x: string) => {
    // x [B, h, S, Dh]: x·cos + rotate_half(x)·sin, rotate_half = concat(−x2, x1)
    const [x1, x2] = g.node("Split", [x, halfSplit], 2, { axis: -1 });
    const rot = g.op("Concat", [g.op("Neg", [x2!]), x1!], { axis: -1 });
    return g.op("Add", [g.op("Mul", [x, cosS]), g.op("Mul", [rot, sinS])]);
  };
  const mlp = async (x: string, e: ExpertNames, I: number) => {
    const gate = await lin(x, e.gate, I, D);
    const up = await lin(x, e.up, I, D);
    const act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up]);
    return lin(act, e.down, D, I);
  };

  let h = embedding(g, await src.f32(EMBED), V, D, o.weightDtype); // [B, S, D] fp32
  for (let i = 0; i < s.layers; i++) {
    const l = layerNames(s, i);
    const x = rms(h, await normW(l.inputNorm));
    const heads = (t: string, n: number) => g.op("Transpose", [g.op("Reshape", [t, headsShape(n)])], { perm: [0, 2, 1, 3] });
    const q = rope(heads(await lin(x, l.q, H * Dh, D), H));
    let k = rope(heads(await lin(x, l.k, KvH * Dh, D), KvH));
    let v = heads(await lin(x, l.v, KvH * Dh, D), KvH);
    if (nRep > 1) {
      const rep = (t: string) => g.op("Reshape", [g.op("Expand", [g.op("Reshape", [t, c("kv_unsq", [0, 0, 1, -1, Dh])]), repShape]), repMerge]);
      k = rep(k);
      v = rep(v);
    }
    const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], { perm: [0, 1, 3, 2] })]), scale]), mask]);
    const att = g.op("MatMul", [g.op("Softmax", [scores], { axis: -1 }), v]); // [B, H, S, Dh]
    const merged = g.op("Reshape", [g.op("Transpose", [att], { perm: [0, 2, 1, 3] }), mergeShape]);
    h = g.op("Add", [h, await lin(merged, l.o, D, H * Dh)]);
    const y = rms(h, await normW(l.postNorm));
    h = g.op("Add", [h, l.mlp ? await mlp(y, l.mlp, s.intermediate) : await moe(g, y, l.router!, l.experts!, s, src, mlp)]);
  }
  const hn = rms(h, await normW(FINAL_NORM));
  const head = src.has(LM_HEAD) ? LM_HEAD : EMBED; // tied embeddings reuse the table
  const wHead = await src.f32(head);
  g.node("MatMul", [hn, floatInit(g, "lm_head.weight_t", [D, V], transposeV(wHead, V, D), o.weightDtype)], ["logits"]);
}

/** Token embedding lookup; an fp16 table is gathered first and only the looked-up rows are cast to fp32. */
function embedding(g: GraphBuilder, table: Float32Array, V: number, D: number, dtype: WeightDtype): string {
  if (dtype === "fp32") return g.op("Gather", [g.f32(EMBED, [V, D], table), "input_ids"], { axis: 0 });
  const h = new Uint16Array(table.length);
  for (let i = 0; i < table.length; i++) h[i] = f32ToF16(table[i]!);
  const t = g.init(`${EMBED}_fp16`, T.FLOAT16, [V, D], new Uint8Array(h.buffer));
  return g.op("Cast", [g.op("Gather", [t, "input_ids"], { axis: 0 })], { to: T.FLOAT });
}

function transposeV(w: Float32Array, V: number, D: number): Float32Array {
  const t = new Float32Array(V * D);
  for (let v = 0; v < V; v++) for (let d = 0; d < D; d++) t[d * V + v] = w[v * D + d]!;
  return t;
}

/** Mixtral sparse MoE: softmax router → top-k → renormalise → Σ_e w_e(x)·expert_e(x) (dense over experts). */
async function moe(g: GraphBuilder, x: string, router: string, experts: ExpertNames[], s: ModelSpec, src: DecoderSource, mlp: (x: string, e: ExpertNames, I: number) => Promise<string>): Promise<string> {
  const E = s.moe!.experts;
  const D = s.hidden;
  const x2 = g.op("Reshape", [x, g.i64(g.tmp("shape_td"), [2], [-1, D])]); // [T, D]
  const rw = await src.f32(`${router}.weight`);
  const logits = g.op("MatMul", [x2, g.f32(`${router}.weight_t`, [D, E], transposeV(rw, E, D))]);
  const probs = g.op("Softmax", [logits], { axis: -1 });
  // top-k as a threshold on the k-th largest probability (no ScatterElements, so it runs on WebGPU too)
  const [vals] = g.node("TopK", [probs, g.i64(g.tmp("topk"), [1], [s.moe!.topK])], 2, { axis: -1, largest: 1, sorted: 1 });
  const axLast = g.i64(g.tmp("ax"), [1], [-1]);
  const kth = g.op("ReduceMin", [vals!, axLast], { keepdims: 1 }); // [T, 1]
  const kept = g.op("Where", [g.op("GreaterOrEqual", [probs, kth]), probs, g.f32(g.tmp("zero"), [], [0])]); // [T, E]
  const dense = s.moe!.normTopK ? g.op("Div", [kept, g.op("ReduceSum", [vals!, axLast], { keepdims: 1 })]) : kept;
  let acc: string | undefined;
  for (let e = 0; e < E; e++) {
    const we = g.op("Slice", [dense, g.i64(g.tmp("st"), [1], [e]), g.i64(g.tmp("en"), [1], [e + 1]), g.i64(g.tmp("ax"), [1], [1])]); // [T, 1]
    const ye = g.op("Mul", [await mlp(x2, experts[e]!, s.moe!.expertIntermediate), we]);
    acc = acc ? g.op("Add", [acc, ye]) : ye;
  }
  return g.op("Reshape", [acc!, g.op("Shape", [x])]);
}

/** transformers' default RoPE tables in fp32: inv_freq = 1/θ^(2i/d), emb = cat(t·inv_freq, t·inv_freq). */
export function ropeTables(theta: number, dim: number, maxSeq: number): { cos: Float32Array; sin: Float32Array } {
  const fr = Math.fround;
  const inv = Array.from({ length: dim / 2 }, (_, i) => fr(1 / fr(Math.pow(theta, fr((2 * i) / dim)))));
  const cos = new Float32Array(maxSeq * dim);
  const sin = new Float32Array(maxSeq * dim);
  for (let t = 0; t < maxSeq; t++) {
    for (let i = 0; i < dim / 2; i++) {
      const f = fr(t * inv[i]!);
      cos[t * dim + i] = cos[t * dim + i + dim / 2] = Math.cos(f);
      sin[t * dim + i] = sin[t * dim + i + dim / 2] = Math.sin(f);
    }
  }
  return { cos, sin };
}
