// `memc inspect` as data: parameters and bytes by component, and what the model would weigh at common settings.

import type { Checkpoint } from "./checkpoint.js";
import { numel } from "./safetensors/dtypes.js";
import { EMBED, FINAL_NORM, LM_HEAD, layerNames, quantizableLinears } from "./names.js";

export type Component = "embeddings" | "attention" | "mlp" | "experts" | "routers" | "norms" | "head" | "other";

export interface Inspection {
  dir: string;
  family: string;
  modelType: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  experts?: { count: number; topK: number; intermediate: number };
  /** quant_method of an already-packed checkpoint (then no estimates are made). */
  packedAs?: string;
  parameters: number;
  bytes: number;
  dtypes: Record<string, number>;
  components: Record<Component, { parameters: number; bytes: number }>;
  /** Estimated bytes when the decoder Linears are stored at each setting (everything else as is). */
  estimates: { setting: string; bytes: number; ratio: number }[];
}

/** Bits per weight of a Linear at a setting, metadata included (bf16 scale + packed zero per group). */
export const SETTINGS: { setting: string; bitsPerWeight: number }[] = [
  { setting: "W8 g128", bitsPerWeight: 8 + (16 + 8) / 128 },
  { setting: "W4 g128", bitsPerWeight: 4 + (16 + 4) / 128 },
  { setting: "W4 g32", bitsPerWeight: 4 + (16 + 4) / 32 },
  { setting: "W3 g128", bitsPerWeight: 3 + (16 + 3) / 128 },
  { setting: "W2 g64", bitsPerWeight: 2 + (16 + 2) / 64 },
  { setting: "2:4 sparse (bf16 values + 2-bit indices)", bitsPerWeight: 0.5 * 16 + 0.5 * 2 },
  { setting: "FP8 E4M3 per-channel", bitsPerWeight: 8 },
];

export function inspectCheckpoint(ckpt: Checkpoint): Inspection {
  const { spec, weights } = ckpt;
  const comp = (): { parameters: number; bytes: number } => ({ parameters: 0, bytes: 0 });
  const components: Inspection["components"] = { embeddings: comp(), attention: comp(), mlp: comp(), experts: comp(), routers: comp(), norms: comp(), head: comp(), other: comp() };
  const kind = new Map<string, Component>([[EMBED, "embeddings"], [LM_HEAD, "head"], [FINAL_NORM, "norms"]]);
  const linear = new Set<string>();
  for (let i = 0; i < spec.layers; i++) {
    const n = layerNames(spec, i);
    kind.set(n.inputNorm, "norms").set(n.postNorm, "norms");
    for (const m of [n.q, n.k, n.v, n.o]) for (const s of ["weight", "bias"]) kind.set(`${m}.${s}`, "attention");
    if (n.router) kind.set(`${n.router}.weight`, "routers");
    if (n.sharedGate) kind.set(`${n.sharedGate}.weight`, "routers");
    for (const m of [n.mlp, n.shared]) if (m) for (const p of [m.gate, m.up, m.down]) kind.set(`${p}.weight`, "mlp");
    for (const m of n.experts ?? []) for (const p of [m.gate, m.up, m.down]) kind.set(`${p}.weight`, "experts");
    for (const m of quantizableLinears(spec, i)) linear.add(`${m}.weight`);
  }
  let parameters = 0;
  let bytes = 0;
  let linearParams = 0;
  let linearBytes = 0;
  const dtypes: Record<string, number> = {};
  for (const name of weights.names()) {
    const info = weights.info(name);
    const p = numel(info.shape);
    const b = info.end - info.begin;
    // packed checkpoints keep a Linear as <m>.qweight/.scales/… or <m>.weight_packed/…: classify by module
    const moduleWeight = `${name.slice(0, name.lastIndexOf("."))}.weight`;
    const c = components[kind.get(name) ?? kind.get(moduleWeight) ?? "other"];
    c.parameters += p;
    c.bytes += b;
    parameters += p;
    bytes += b;
    dtypes[info.dtype] = (dtypes[info.dtype] ?? 0) + p;
    if (linear.has(name) || linear.has(moduleWeight)) {
      linearParams += p;
      linearBytes += b;
    }
  }
  const packedAs = (ckpt.rawConfig.quantization_config as { quant_method?: string } | undefined)?.quant_method;
  const estimates = packedAs ? [] : SETTINGS.map(({ setting, bitsPerWeight }) => {
    const est = bytes - linearBytes + Math.ceil((linearParams * bitsPerWeight) / 8);
    return { setting, bytes: est, ratio: bytes / est };
  });
  return {
    dir: ckpt.dir,
    family: spec.family,
    modelType: spec.modelType,
    layers: spec.layers,
    hidden: spec.hidden,
    heads: spec.heads,
    kvHeads: spec.kvHeads,
    headDim: spec.headDim,
    intermediate: spec.intermediate,
    vocab: spec.vocab,
    ...(spec.moe ? { experts: { count: spec.moe.experts, topK: spec.moe.topK, intermediate: spec.moe.expertIntermediate } } : {}),
    ...(packedAs ? { packedAs } : {}),
    parameters,
    bytes,
    dtypes,
    components,
    estimates,
  };
}
