// `quantization_config` blocks that vLLM / transformers read (formats.md §2.3 GPTQ, §3.1 compressed-tensors),
// and parsing them back for the reader.

import { InputError } from "../../util/errors.js";
import type { GptqFormat } from "./gptq.js";

export interface PackScheme {
  bits: number;
  /** -1 = per output channel (one group per row) */
  groupSize: number;
  sym: boolean;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** GPTQ config; `dense` are module names left unquantized (vLLM/GPTQModel `dynamic` negative matches). */
export function gptqConfig(s: PackScheme, format: GptqFormat, dense: string[], version: string): Record<string, unknown> {
  const cfg: Record<string, unknown> = {
    quant_method: "gptq", bits: s.bits, group_size: s.groupSize, desc_act: false, sym: s.sym,
    damp_percent: 0.01, true_sequential: true, static_groups: false, lm_head: false,
    checkpoint_format: format, format, pack_dtype: "int32", meta: { quantizer: [`memc:${version}`], method: "rtn-or-omniquant (codes from memc)" },
  };
  if (dense.length > 0) cfg.dynamic = Object.fromEntries(dense.map((m) => [`-:^${escapeRe(m)}$`, {}]));
  return cfg;
}

/** compressed-tensors pack-quantized config; `ignore` = lm_head, routers and every module kept dense. */
export function ctConfig(s: PackScheme, ignore: string[]): Record<string, unknown> {
  const weights = {
    num_bits: s.bits, type: "int", symmetric: s.sym, strategy: s.groupSize > 0 ? "group" : "channel",
    group_size: s.groupSize > 0 ? s.groupSize : null, dynamic: false, actorder: null, block_structure: null,
    observer: "minmax", observer_kwargs: {},
  };
  return {
    quant_method: "compressed-tensors", version: "0.18.0", format: "pack-quantized", quantization_status: "compressed",
    global_compression_ratio: null, kv_cache_scheme: null, sparsity_config: {}, transform_config: {}, ignore,
    config_groups: { group_0: { targets: ["Linear"], format: "pack-quantized", weights, input_activations: null, output_activations: null } },
  };
}

export type PackedKind = { kind: "gptq"; format: GptqFormat; scheme: PackScheme } | { kind: "ct"; scheme: PackScheme } | { kind: "ct-fp8"; scheme: PackScheme };

/** Reads config.json's quantization_config; undefined when the checkpoint is not packed. */
export function parsePackedConfig(raw: Record<string, unknown>, where: string): PackedKind | undefined {
  const qc = raw.quantization_config as Record<string, unknown> | undefined;
  if (!qc) return undefined;
  if (qc.quant_method === "gptq") {
    if (qc.desc_act === true) throw new InputError(`${where}: GPTQ with desc_act (act-order) is not supported`);
    const fmt = (qc.checkpoint_format ?? qc.format ?? "gptq") as string;
    if (fmt !== "gptq" && fmt !== "gptq_v2") throw new InputError(`${where}: GPTQ checkpoint_format "${fmt}" is not supported (gptq, gptq_v2)`);
    return { kind: "gptq", format: fmt, scheme: { bits: Number(qc.bits), groupSize: Number(qc.group_size), sym: qc.sym !== false } };
  }
  if (qc.quant_method === "compressed-tensors") {
    const groups = Object.values((qc.config_groups ?? {}) as Record<string, { format?: string; weights?: Record<string, unknown> }>);
    if (groups.length !== 1) throw new InputError(`${where}: compressed-tensors with ${groups.length} config groups is not supported (expected 1)`);
    const g = groups[0]!;
    const fmt = g.format ?? qc.format;
    if (fmt === "float-quantized" && g.weights?.type === "float" && g.weights.num_bits === 8 && g.weights.strategy === "channel") {
      return { kind: "ct-fp8", scheme: { bits: 8, groupSize: -1, sym: true } };
    }
    if (fmt !== "pack-quantized" || g.weights?.type !== "int") throw new InputError(`${where}: compressed-tensors format "${String(fmt)}" is not supported (pack-quantized int, float-quantized fp8 channel)`);
    const w = g.weights;
    return { kind: "ct", scheme: { bits: Number(w.num_bits), groupSize: w.strategy === "channel" ? -1 : Number(w.group_size), sym: w.symmetric !== false } };
  }
  throw new InputError(`${where}: quant_method "${String(qc.quant_method)}" is not supported (gptq, compressed-tensors)`);
}
