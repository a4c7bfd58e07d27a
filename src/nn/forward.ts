// Whole-model forward, streamed block by block: embed → each layer (weights loaded, used, freed) → final norm.
// ids: W windows of L tokens, flattened → hidden [W·L, D] after the final RMSNorm.

import type { ModelSpec } from "../model/config.js";
import { EMBED, FINAL_NORM, LM_HEAD } from "../model/names.js";
import type { DeviceTensor, Ops } from "../runtime/ops.js";
import { layerForward } from "./layer-forward.js";
import { freeLayer, loadLayer, loadTensor, type WeightSource } from "./layer-weights.js";

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

export async function hiddenStates<T extends DeviceTensor>(
  ops: Ops<T>,
  spec: ModelSpec,
  src: WeightSource,
  head: Head<T>,
  ids: Int32Array,
  windowLen: number,
  onLayer?: (layer: number) => void,
): Promise<T> {
  let x = await ops.embedding(head.embed, ids);
  for (let i = 0; i < spec.layers; i++) {
    const l = await loadLayer(ops, src, spec, i);
    const y = await layerForward(ops, spec, l, x, windowLen);
    freeLayer(ops, l);
    ops.free(x);
    x = y;
    onLayer?.(i);
  }
  const h = await ops.rmsnorm(x, head.norm, spec.rmsEps);
  ops.free(x);
  return h;
}
