// Whole-model forward, streamed block by block: embed → each layer (weights loaded, used, freed) → final norm.
// ids: W windows of L tokens, flattened → hidden [W·L, D] after the final RMSNorm. Small models may keep
// every layer resident instead (`resident`), so a many-chunk eval does not re-read and convert the weights.

import type { ModelSpec } from "../model/config.js";
import { EMBED, FINAL_NORM, LM_HEAD } from "../model/names.js";
import type { DeviceTensor, Ops } from "../runtime/ops.js";
import { layerForward } from "./layer-forward.js";
import { freeLayer, loadLayer, loadTensor, type LayerTensors, type WeightSource } from "./layer-weights.js";

export interface Head<T> {
  embed: T;
  norm: T;
  lmHead: T;
}

/** The embedding table, final norm and lm_head (tied to the embedding when the config says so). */
export async function loadHead<T extends DeviceTensor>(ops: Ops<T>, src: WeightSource, spec: ModelSpec): Promise<Head<T>> {
  const embed = await loadTensor(ops, src, EMBED, [spec.vocab, spec.hidden]);
  const norm = await loadTensor(ops, src, FINAL_NORM, [spec.hidden]);
  const lmHead = spec.tieEmbeddings && !src.has(LM_HEAD) ? embed : await loadTensor(ops, src, LM_HEAD, [spec.vocab, spec.hidden]);
  return { embed, norm, lmHead };
}

export function freeHead<T extends DeviceTensor>(ops: Ops<T>, h: Head<T>): void {
  for (const x of new Set([h.embed, h.norm, h.lmHead])) ops.free(x);
}

/** fp32 bytes of every decoder layer's weights: decides whether they can stay resident for a whole eval. */
export function layerBytesF32(spec: ModelSpec): number {
  const { hidden: D, heads: H, kvHeads: KH, headDim: Dh } = spec;
  const attn = D * (H + 2 * KH) * Dh + H * Dh * D;
  const mlp = spec.moe ? spec.moe.experts * 3 * D * spec.moe.expertIntermediate + 3 * D * spec.moe.sharedIntermediate + spec.moe.experts * D : 3 * D * spec.intermediate;
  return 4 * spec.layers * (attn + mlp + 2 * D);
}

export async function hiddenStates<T extends DeviceTensor>(
  ops: Ops<T>,
  spec: ModelSpec,
  src: WeightSource,
  head: Head<T>,
  ids: Int32Array,
  windowLen: number,
  resident?: LayerTensors<T>[],
): Promise<T> {
  let x = await ops.embedding(head.embed, ids);
  for (let i = 0; i < spec.layers; i++) {
    const l = resident?.[i] ?? (await loadLayer(ops, src, spec, i));
    const y = await layerForward(ops, spec, l, x, windowLen);
    if (!resident) freeLayer(ops, l);
    ops.free(x);
    x = y;
  }
  const h = await ops.rmsnorm(x, head.norm, spec.rmsEps);
  ops.free(x);
  return h;
}
