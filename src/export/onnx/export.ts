// `memc export --format onnx`: an HF checkpoint (dense, fake-quant or packed) → model.onnx (+ model.onnx.data
// when the weights pass 2 GB) with MatMulNBits for quantized Linears, plus config/tokenizer beside it.

import { copyFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelSpec } from "../../model/config.js";
import type { Dtype } from "../../model/safetensors/dtypes.js";
import { rederiveCodes } from "../hf/codes.js";
import type { PackScheme } from "../hf/config.js";
import type { QuantLinear } from "../hf/qlinear.js";
import { GraphBuilder } from "./builder.js";
import { buildDecoder } from "./decoder.js";
import { nbitsOk, type WeightDtype } from "./linear.js";

export const ONNX_FILE = "model.onnx";
export const ONNX_DATA = "model.onnx.data";
const TWO_GB = 2_000_000_000;

export interface OnnxExportOptions {
  weightDtype?: WeightDtype;
  /** Quantized Linears: re-derive codes from the fake-quant weights and emit MatMulNBits. */
  quant?: PackScheme;
  /** Codes straight from a quantizer, by module name (take precedence over re-derivation). */
  codes?: Map<string, QuantLinear>;
  /** Force (true) or forbid (false) the external data file; default: when the weights exceed 2 GB. */
  external?: boolean;
  maxSeq?: number;
  /** Add the optional `attention_mask` input (int64 [batch, seq]). */
  attentionMask?: boolean;
}

export interface OnnxExportReport {
  files: string[];
  external: boolean;
  weightBytes: number;
  matmulNBits: string[];
  dense: { module: string; reason: string }[];
}

/** What the exporter reads: a checkpoint (WeightStore) or a packed one (PackedWeights) both fit. */
export interface OnnxSource {
  dir: string;
  spec: ModelSpec;
  weights: { f32(name: string): Promise<Float32Array>; has(name: string): boolean };
  /** dtype a tensor is stored in (bounds the rounding when codes are re-derived); default F32 */
  storedDtype?: (name: string) => Dtype;
}

/** Parameter count of the decoder as exported (embeddings, attention, MLP/experts, norms, lm_head). */
export function paramCount(s: ModelSpec): number {
  const attn = s.hidden * s.headDim * (2 * s.heads + 2 * s.kvHeads);
  const mlp = s.moe ? s.moe.experts * 3 * s.hidden * s.moe.expertIntermediate + s.moe.experts * s.hidden : 3 * s.hidden * s.intermediate;
  return 2 * s.vocab * s.hidden + s.layers * (attn + mlp + 2 * s.hidden) + s.hidden;
}

/** Writes the ONNX artifact into `outDir` (existing, empty; wrap in writeDirAtomically). */
export async function exportOnnx(ck: OnnxSource, outDir: string, o: OnnxExportOptions = {}): Promise<OnnxExportReport> {
  const weightDtype = o.weightDtype ?? "fp32";
  const external = o.external ?? paramCount(ck.spec) * (weightDtype === "fp32" ? 4 : 2) > TWO_GB;
  const g = new GraphBuilder(external ? { path: join(outDir, ONNX_DATA), location: ONNX_DATA } : undefined);
  const matmulNBits: string[] = [];
  const dense: { module: string; reason: string }[] = [];
  const quant = async (mod: string, w: Float32Array, N: number, K: number): Promise<QuantLinear | undefined> => {
    let ql = o.codes?.get(mod);
    if (!ql && o.quant) {
      const gs = o.quant.groupSize > 0 ? o.quant.groupSize : K;
      if (K % gs !== 0) {
        dense.push({ module: mod, reason: `in features ${K} not divisible by group size ${gs}` });
        return undefined;
      }
      ql = rederiveCodes(`${mod}.weight`, w, N, K, o.quant, ck.storedDtype?.(`${mod}.weight`) ?? "F32", "F32").ql;
    }
    if (!ql) return undefined;
    if (!nbitsOk(ql)) {
      dense.push({ module: mod, reason: `MatMulNBits needs bits 4/8 and a power-of-two block ≥ 16 (bits ${ql.bits}, group ${ql.groupSize})` });
      return undefined;
    }
    matmulNBits.push(mod);
    return ql;
  };
  const quantMods = o.quant || o.codes ? quant : undefined;
  await buildDecoder(g, { spec: ck.spec, f32: (n) => ck.weights.f32(n), has: (n) => ck.weights.has(n), ...(quantMods ? { quant: quantMods } : {}) }, { weightDtype, ...(o.maxSeq ? { maxSeq: o.maxSeq } : {}), ...(o.attentionMask ? { attentionMask: true } : {}) });
  const bytes = g.finish(`memc-${ck.spec.modelType}`);
  await writeFile(join(outDir, ONNX_FILE), bytes);
  const files = [ONNX_FILE, ...(external ? [ONNX_DATA] : [])];
  for (const f of await readdir(ck.dir)) {
    if (/^(config\.json|tokenizer.*|generation_config\.json|special_tokens_map\.json)$/.test(f)) {
      await copyFile(join(ck.dir, f), join(outDir, f));
      files.push(f);
    }
  }
  return { files, external, weightBytes: g.weightBytes, matmulNBits, dense };
}
