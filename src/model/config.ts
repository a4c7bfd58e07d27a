// HF config.json → ModelSpec for the llama/mistral/qwen2 (dense) and mixtral/qwen2_moe (MoE) families.
// Accepts both top-level `rope_theta` and transformers-5 `rope_parameters.rope_theta`.

import { parseActQuant } from "./act-quant-config.js";
import { InputError } from "../util/errors.js";

export type Family = "llama" | "mixtral" | "qwen2_moe";

export interface MoeSpec {
  experts: number;
  topK: number;
  /** Width of one expert's MLP. */
  expertIntermediate: number;
  /** Renormalise the top-k routing weights to sum to 1 (Mixtral always does). */
  normTopK: boolean;
  /** qwen2_moe's always-on shared expert width (0 when absent). */
  sharedIntermediate: number;
}

export interface ModelSpec {
  family: Family;
  modelType: string;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
  ropeTheta: number;
  rmsEps: number;
  tieEmbeddings: boolean;
  attentionBias: boolean;
  moe?: MoeSpec;
  /** activation fake-quant bits at run time (config.json memc_activation_quant); undefined = full precision */
  actBits?: number;
}

const DENSE = new Set(["llama", "mistral", "qwen2"]);
const FAMILY_OF: Record<string, Family> = { mixtral: "mixtral", qwen2_moe: "qwen2_moe" };

export function parseConfig(raw: Record<string, unknown>, where = "config.json"): ModelSpec {
  const modelType = raw.model_type;
  if (typeof modelType !== "string") throw new InputError(`${where}: missing "model_type"`);
  const family: Family | undefined = DENSE.has(modelType) ? "llama" : FAMILY_OF[modelType];
  if (!family) {
    throw new InputError(`${where}: unknown model_type "${modelType}" (supported: llama, mistral, qwen2, mixtral, qwen2_moe)`);
  }
  const int = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new InputError(`${where}: "${key}" must be a positive integer, found ${JSON.stringify(raw[key])}`);
    return v;
  };
  const hidden = int("hidden_size");
  const heads = int("num_attention_heads");
  const headDim = typeof raw.head_dim === "number" ? raw.head_dim : hidden / heads;
  if (!Number.isInteger(headDim)) throw new InputError(`${where}: hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`);
  const rope = raw.rope_parameters as { rope_theta?: unknown; rope_type?: unknown } | undefined;
  const ropeTheta = Number(rope?.rope_theta ?? raw.rope_theta ?? 10000);
  const ropeType = rope?.rope_type ?? (raw.rope_scaling as { rope_type?: unknown } | null | undefined)?.rope_type ?? "default";
  if (ropeType !== "default") throw new InputError(`${where}: rope_type "${String(ropeType)}" is not supported yet (only "default")`);
  const spec: ModelSpec = {
    family,
    modelType,
    hidden,
    layers: int("num_hidden_layers"),
    heads,
    kvHeads: int("num_key_value_heads", heads),
    headDim,
    intermediate: int("intermediate_size"),
    vocab: int("vocab_size"),
    maxPositions: int("max_position_embeddings", 2048),
    ropeTheta,
    rmsEps: Number(raw.rms_norm_eps ?? 1e-6),
    tieEmbeddings: raw.tie_word_embeddings === true,
    attentionBias: modelType === "qwen2" || modelType === "qwen2_moe" || raw.attention_bias === true,
  };
  const actBits = parseActQuant(raw, where);
  if (actBits !== undefined) spec.actBits = actBits;
  if (heads % spec.kvHeads !== 0) throw new InputError(`${where}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${spec.kvHeads}`);
  if (family === "mixtral") {
    spec.moe = { experts: int("num_local_experts"), topK: int("num_experts_per_tok"), expertIntermediate: spec.intermediate, normTopK: true, sharedIntermediate: 0 };
  } else if (family === "qwen2_moe") {
    spec.moe = {
      experts: int("num_experts"),
      topK: int("num_experts_per_tok"),
      expertIntermediate: int("moe_intermediate_size"),
      normTopK: raw.norm_topk_prob === true,
      sharedIntermediate: typeof raw.shared_expert_intermediate_size === "number" ? raw.shared_expert_intermediate_size : 0,
    };
    const sparseStep = raw.decoder_sparse_step ?? 1;
    const mlpOnly = raw.mlp_only_layers as unknown[] | undefined;
    if (sparseStep !== 1 || (mlpOnly && mlpOnly.length > 0)) throw new InputError(`${where}: qwen2_moe with dense layers (decoder_sparse_step/mlp_only_layers) is not supported yet`);
  }
  return spec;
}
