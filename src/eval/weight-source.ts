// The weights `memc eval` reads: a checkpoint's tensors as stored (fake-quant or fp). Compressed artifact
// readers (packed formats, float8/PCA embeddings) plug in here so eval measures what ships.

import type { Checkpoint } from "../model/checkpoint.js";
import type { WeightSource } from "../nn/layer-weights.js";
import { embeddingWeightSource } from "../passes/embed/reconstruct.js";

export async function openWeightSource(ckpt: Checkpoint): Promise<WeightSource> {
  return embeddingWeightSource(ckpt, ckpt.weights); // float8/PCA tables (config.json memc_embedding) → fp32; else as is
}
