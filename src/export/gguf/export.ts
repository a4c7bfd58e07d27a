// `memc export --format gguf`: a Llama-family (llama, mistral, mixtral) checkpoint → model.gguf (llama.cpp tensor names, q/k rows permuted
// from HF's rotate-half to llama.cpp's interleaved RoPE as convert_hf_to_gguf.py does, GPT-2 BPE vocab).
// Q4_1/Q4_0/Q8_0 reuse memc's codes block-exactly where the scheme has group 32; otherwise ggml's quantizers run on ŵ.

import { existsSync } from "node:fs";
import { copyFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelSpec } from "../../model/config.js";
import type { Dtype } from "../../model/safetensors/dtypes.js";
import { EMBED, FINAL_NORM, LM_HEAD, layerNames, type ExpertNames } from "../../model/names.js";
import { InputError } from "../../util/errors.js";
import { rederiveCodes } from "../hf/codes.js";
import type { PackScheme } from "../hf/config.js";
import { shiftZeros } from "../hf/qlinear.js";
import { dequantizeRow, encodeCodes, quantizeRow, QK, type GgmlType } from "./quants.js";
import { writeGguf, type GgufTensor, type GgufValue } from "./writer.js";

export type GgufType = "f16" | "q8_0" | "q4_0" | "q4_1";
export const GGUF_FILE = "model.gguf";
const FILE_TYPE: Record<GgufType, number> = { f16: 1, q4_0: 2, q4_1: 3, q8_0: 7 };

export interface GgufSource {
  dir: string;
  spec: ModelSpec;
  weights: { f32(name: string): Promise<Float32Array>; has(name: string): boolean };
  storedDtype?: (name: string) => Dtype;
}

export interface GgufReport {
  file: string;
  type: GgufType;
  bytes: number;
  /** per quantized tensor: how it was encoded and max |Δ| against the source weight */
  tensors: { name: string; type: GgmlType; how: "codes" | "ggml-quantizer" | "float"; maxAbsDiff: number }[];
}

/** HF q/k rows [heads·Dh, K] → llama.cpp order: within each head, row j·Dh/2 + i moves to 2i + j. */
export function permuteQK(w: Float32Array, heads: number, K: number): Float32Array {
  const rows = w.length / K;
  const dh = rows / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < dh / 2; i++) out.set(w.subarray((h * dh + j * (dh / 2) + i) * K, (h * dh + j * (dh / 2) + i + 1) * K), (h * dh + 2 * i + j) * K);
    }
  }
  return out;
}

export async function exportGguf(src: GgufSource, outDir: string, o: { type: GgufType; quant?: PackScheme }): Promise<GgufReport> {
  const s = src.spec;
  if (s.family === "qwen2_moe" || s.attentionBias) throw new InputError(`GGUF export: model_type ${s.modelType} is not supported (llama, mistral, mixtral)`);
  const wt: GgmlType = o.type === "f16" ? "F16" : (o.type.toUpperCase() as GgmlType);
  const report: GgufReport = { file: GGUF_FILE, type: o.type, bytes: 0, tensors: [] };
  const tensors: GgufTensor[] = [];
  const vec = (name: string, hf: string) => tensors.push({ name, type: "F32", dims: [s.hidden], bytes: async () => new Uint8Array((await src.weights.f32(hf)).buffer) });
  // memc never quantizes embeddings / lm_head: with 4-bit types they go to Q8_0 (near lossless), as llama.cpp
  // itself keeps output.weight at a higher precision than the layers
  const headType: GgmlType = wt === "Q4_0" || wt === "Q4_1" ? "Q8_0" : wt;
  const mat = (name: string, hf: string, N: number, K: number, opts: { permuteHeads?: number; linear?: boolean } = {}) => {
    const type: GgmlType = K % QK !== 0 ? "F16" : opts.linear ? wt : headType;
    tensors.push({
      name, type, dims: [K, N],
      bytes: async () => {
        let w = await src.weights.f32(hf);
        if (opts.permuteHeads) w = permuteQK(w, opts.permuteHeads, K);
        return encodeMatrix(name, w, N, K, type, opts.linear ? o.quant : undefined, report, src.storedDtype?.(hf) ?? "F32");
      },
    });
  };
  mat("token_embd.weight", EMBED, s.vocab, s.hidden);
  for (let i = 0; i < s.layers; i++) {
    const l = layerNames(s, i);
    const b = `blk.${i}`;
    vec(`${b}.attn_norm.weight`, l.inputNorm);
    mat(`${b}.attn_q.weight`, `${l.q}.weight`, s.heads * s.headDim, s.hidden, { permuteHeads: s.heads, linear: true });
    mat(`${b}.attn_k.weight`, `${l.k}.weight`, s.kvHeads * s.headDim, s.hidden, { permuteHeads: s.kvHeads, linear: true });
    mat(`${b}.attn_v.weight`, `${l.v}.weight`, s.kvHeads * s.headDim, s.hidden, { linear: true });
    mat(`${b}.attn_output.weight`, `${l.o}.weight`, s.hidden, s.heads * s.headDim, { linear: true });
    vec(`${b}.ffn_norm.weight`, l.postNorm);
    if (l.mlp) {
      mat(`${b}.ffn_gate.weight`, `${l.mlp.gate}.weight`, s.intermediate, s.hidden, { linear: true });
      mat(`${b}.ffn_up.weight`, `${l.mlp.up}.weight`, s.intermediate, s.hidden, { linear: true });
      mat(`${b}.ffn_down.weight`, `${l.mlp.down}.weight`, s.hidden, s.intermediate, { linear: true });
    } else {
      // Mixtral: router kept F32; experts stacked into 3-D tensors ne = [K, N, E] (convert_hf_to_gguf layout)
      const E = s.moe!.experts, I = s.moe!.expertIntermediate, D = s.hidden;
      tensors.push({ name: `${b}.ffn_gate_inp.weight`, type: "F32", dims: [D, E], bytes: async () => new Uint8Array((await src.weights.f32(`${l.router}.weight`)).buffer) });
      const stack = (name: string, pick: (e: ExpertNames) => string, N: number, K: number) => {
        const type: GgmlType = K % QK !== 0 ? "F16" : wt;
        tensors.push({
          name, type, dims: [K, N, E],
          bytes: async () => {
            const parts: Uint8Array[] = [];
            for (const e of l.experts!) parts.push(encodeMatrix(`${name}[${pick(e)}]`, await src.weights.f32(`${pick(e)}.weight`), N, K, type, o.quant, report, src.storedDtype?.(`${pick(e)}.weight`) ?? "F32"));
            return Buffer.concat(parts);
          },
        });
      };
      stack(`${b}.ffn_gate_exps.weight`, (e) => e.gate, I, D);
      stack(`${b}.ffn_up_exps.weight`, (e) => e.up, I, D);
      stack(`${b}.ffn_down_exps.weight`, (e) => e.down, D, I);
    }
  }
  vec("output_norm.weight", FINAL_NORM);
  if (src.weights.has(LM_HEAD)) mat("output.weight", LM_HEAD, s.vocab, s.hidden);
  const kv = await metadata(src, o.type);
  report.bytes = await writeGguf(join(outDir, GGUF_FILE), kv, tensors);
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) if (existsSync(join(src.dir, f))) await copyFile(join(src.dir, f), join(outDir, f));
  return report;
}

/** w [N, K] → N rows of `type`; memc codes reused when the scheme is 4-bit (8-bit) group 32 and fits the type. */
function encodeMatrix(name: string, w: Float32Array, N: number, K: number, type: GgmlType, quant: PackScheme | undefined, report: GgufReport, stored: Dtype): Uint8Array {
  const rb = type === "F16" || type === "F32" ? K * (type === "F16" ? 2 : 4) : (K / QK) * { Q4_0: 18, Q4_1: 20, Q8_0: 34 }[type as "Q4_0"];
  const out = new Uint8Array(N * rb);
  let how: "codes" | "ggml-quantizer" | "float" = type === "F16" || type === "F32" ? "float" : "ggml-quantizer";
  const fits = quant && quant.groupSize === QK && ((quant.bits === 4 && (type === "Q4_1" || (type === "Q4_0" && quant.sym))) || (quant.bits === 8 && type === "Q8_0" && quant.sym));
  if (fits) {
    const c = rederiveCodes(name, w, N, K, quant, stored, "F32").ql;
    const sh = type === "Q4_0" ? shiftZeros(c, 0, 15, name, 8) : type === "Q4_1" ? shiftZeros(c, 0, 15, name) : { q: c.q, zero: Int32Array.from(c.zero) };
    const G = K / QK;
    for (let r = 0; r < N; r++) out.set(encodeCodes(type as "Q4_0", sh.q.subarray(r * K, r * K + K), c.scale.subarray(r * G, r * G + G), sh.zero.subarray(r * G, r * G + G)), r * rb);
    how = "codes";
  } else {
    for (let r = 0; r < N; r++) out.set(quantizeRow(type, w.subarray(r * K, r * K + K)), r * rb);
  }
  let maxAbsDiff = 0;
  for (let r = 0; r < N; r++) {
    const back = dequantizeRow(type, out.subarray(r * rb, r * rb + rb), K);
    for (let k = 0; k < K; k++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(back[k]! - w[r * K + k]!));
  }
  report.tensors.push({ name, type, how, maxAbsDiff });
  return out;
}

async function metadata(src: GgufSource, type: GgufType): Promise<[string, GgufValue][]> {
  const s = src.spec;
  const u32 = (v: number): GgufValue => ({ type: "u32", v });
  const kv: [string, GgufValue][] = [
    ["general.architecture", { type: "str", v: "llama" }],
    ["general.name", { type: "str", v: src.dir.split("/").filter(Boolean).pop() ?? "memc" }],
    ["general.file_type", u32(FILE_TYPE[type])],
    ["general.quantization_version", u32(2)],
    ["general.alignment", u32(32)],
    ["llama.context_length", u32(s.maxPositions)],
    ["llama.embedding_length", u32(s.hidden)],
    ["llama.block_count", u32(s.layers)],
    ["llama.feed_forward_length", u32(s.moe ? s.moe.expertIntermediate : s.intermediate)],
    ...(s.moe ? ([["llama.expert_count", u32(s.moe.experts)], ["llama.expert_used_count", u32(s.moe.topK)]] as [string, GgufValue][]) : []),
    ["llama.rope.dimension_count", u32(s.headDim)],
    ["llama.attention.head_count", u32(s.heads)],
    ["llama.attention.head_count_kv", u32(s.kvHeads)],
    ["llama.attention.key_length", u32(s.headDim)],
    ["llama.attention.value_length", u32(s.headDim)],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", v: s.rmsEps }],
    ["llama.rope.freq_base", { type: "f32", v: s.ropeTheta }],
    ["llama.vocab_size", u32(s.vocab)],
  ];
  const tokPath = join(src.dir, "tokenizer.json");
  if (!existsSync(tokPath)) return kv;
  const tok = JSON.parse(await readFile(tokPath, "utf8")) as { model: { type: string; vocab: Record<string, number>; merges: (string | string[])[] }; added_tokens?: { id: number; content: string; special: boolean }[] };
  if (tok.model.type !== "BPE") throw new InputError(`${tokPath}: GGUF export supports byte-level BPE tokenizers, found ${tok.model.type}`);
  const tokens = new Array<string>(s.vocab).fill("");
  const types = new Array<number>(s.vocab).fill(1);
  for (const [t, id] of Object.entries(tok.model.vocab)) if (id < s.vocab) tokens[id] = t;
  for (const a of tok.added_tokens ?? []) if (a.id < s.vocab) { tokens[a.id] = a.content; types[a.id] = a.special ? 3 : 4; }
  for (let i = 0; i < s.vocab; i++) if (tokens[i] === "") { tokens[i] = `[PAD${i}]`; types[i] = 5; }
  const merges = tok.model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m));
  const special = (name: string) => tok.added_tokens?.find((a) => a.content === name)?.id;
  kv.push(["tokenizer.ggml.model", { type: "str", v: "gpt2" }], ["tokenizer.ggml.pre", { type: "str", v: "gpt-2" }]);
  kv.push(["tokenizer.ggml.tokens", { type: "arr_str", v: tokens }], ["tokenizer.ggml.token_type", { type: "arr_i32", v: types }], ["tokenizer.ggml.merges", { type: "arr_str", v: merges }]);
  for (const [k, n] of [["bos", "<s>"], ["eos", "</s>"], ["padding", "<pad>"]] as const) {
    const id = special(n);
    if (id !== undefined) kv.push([`tokenizer.ggml.${k}_token_id`, u32(id)]);
  }
  kv.push(["tokenizer.ggml.add_bos_token", { type: "bool", v: false }], ["tokenizer.ggml.add_eos_token", { type: "bool", v: false }]);
  return kv;
}
