// Tensor-name maps: where each family keeps each weight in an HF checkpoint.

import type { ModelSpec } from "./config.js";

export interface ExpertNames {
  gate: string;
  up: string;
  down: string;
}

export interface LayerNames {
  inputNorm: string;
  postNorm: string;
  q: string;
  k: string;
  v: string;
  o: string;
  /** Dense MLP (absent in MoE layers). */
  mlp?: ExpertNames;
  router?: string;
  experts?: ExpertNames[];
  shared?: ExpertNames;
  sharedGate?: string;
}

export const EMBED = "model.embed_tokens.weight";
export const FINAL_NORM = "model.norm.weight";
export const LM_HEAD = "lm_head.weight";

export function layerNames(spec: ModelSpec, i: number): LayerNames {
  const p = `model.layers.${i}`;
  const base: LayerNames = {
    inputNorm: `${p}.input_layernorm.weight`,
    postNorm: `${p}.post_attention_layernorm.weight`,
    q: `${p}.self_attn.q_proj`,
    k: `${p}.self_attn.k_proj`,
    v: `${p}.self_attn.v_proj`,
    o: `${p}.self_attn.o_proj`,
  };
  const proj = (m: string): ExpertNames => ({ gate: `${m}.gate_proj`, up: `${m}.up_proj`, down: `${m}.down_proj` });
  if (spec.family === "llama") return { ...base, mlp: proj(`${p}.mlp`) };
  const n = spec.moe!.experts;
  if (spec.family === "mixtral") {
    const m = `${p}.block_sparse_moe`;
    const experts = Array.from({ length: n }, (_, e) => ({ gate: `${m}.experts.${e}.w1`, up: `${m}.experts.${e}.w3`, down: `${m}.experts.${e}.w2` }));
    return { ...base, router: `${m}.gate`, experts };
  }
  const m = `${p}.mlp`;
  const shared = spec.moe!.sharedIntermediate > 0;
  return {
    ...base,
    router: `${m}.gate`,
    experts: Array.from({ length: n }, (_, e) => proj(`${m}.experts.${e}`)),
    ...(shared ? { shared: proj(`${m}.shared_expert`), sharedGate: `${m}.shared_expert_gate` } : {}),
  };
}

/** Module names (without `.weight`) of every Linear inside a decoder layer that quantizers touch:
 *  attention q/k/v/o and MLP/expert projections — never routers, norms, embeddings or lm_head. */
export function quantizableLinears(spec: ModelSpec, i: number): string[] {
  const l = layerNames(spec, i);
  const out = [l.q, l.k, l.v, l.o];
  const mlps = [...(l.mlp ? [l.mlp] : []), ...(l.experts ?? []), ...(l.shared ? [l.shared] : [])];
  for (const m of mlps) out.push(m.gate, m.up, m.down);
  return out;
}

export type LinearKind = "attention" | "mlp" | "experts";
export const LINEAR_KINDS: LinearKind[] = ["attention", "mlp", "experts"];

/** Which part of a decoder layer a quantizable Linear (module name, no `.weight`) belongs to. */
export function linearKind(module: string): LinearKind {
  if (module.includes(".self_attn.")) return "attention";
  if (module.includes(".experts.")) return "experts";
  return "mlp";
}
