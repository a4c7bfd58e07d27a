// The weights `memc eval` reads, as they ship: packed GPTQ / compressed-tensors checkpoints are dequantized by
// their format's reader, float8/PCA embedding tables are reconstructed; plain and fake-quant checkpoints as stored.

import type { Checkpoint } from "../model/checkpoint.js";
import type { WeightSource } from "../nn/layer-weights.js";
import { embeddingWeightSource } from "../passes/embed/reconstruct.js";
import { PackedWeights } from "../export/hf/read.js";

export async function openWeightSource(ckpt: Checkpoint): Promise<WeightSource> {
  const packed = ckpt.rawConfig.quantization_config !== undefined;
  const base: WeightSource = packed ? await PackedWeights.open(ckpt.dir) : ckpt.weights;
  return embeddingWeightSource(ckpt, base); // float8/PCA tables (config.json memc_embedding) → fp32; else as is
}
