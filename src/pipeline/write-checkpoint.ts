// Writes a transformed HF checkpoint: every tensor of the source, each either copied byte for byte or replaced
// by a pass's fp32 result (encoded to the source dtype unless told otherwise), streamed one tensor at a time,
// plus config.json, tokenizer and generation files copied over.

import { copyFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Checkpoint } from "../model/checkpoint.js";
import type { Dtype } from "../model/safetensors/dtypes.js";
import { writeSharded, DEFAULT_SHARD_BYTES } from "../model/safetensors/shards.js";
import type { TensorSource } from "../model/safetensors/writer.js";
import { fromF32 } from "../runtime/convert.js";

export interface Replacement {
  dtype?: Dtype;
  compute: () => Promise<Float32Array>;
}

/** Decides per tensor: undefined = copy unchanged. */
export type TensorTransform = (name: string) => Replacement | undefined;

export const SIDE_FILES = ["tokenizer.json", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json"];

export async function writeTransformedCheckpoint(
  ckpt: Checkpoint,
  dir: string,
  transform: TensorTransform,
  opts: { rawConfig?: Record<string, unknown>; maxShardBytes?: number; onTensor?: (name: string) => void } = {},
): Promise<{ files: string[]; bytes: number }> {
  const w = ckpt.weights;
  let bytes = 0;
  const sources: TensorSource[] = w.names().map((name) => {
    const info = w.info(name);
    const rep = transform(name);
    const dtype = rep?.dtype ?? info.dtype;
    return {
      name,
      dtype,
      shape: info.shape,
      bytes: async () => {
        const out = rep ? fromF32(await rep.compute(), dtype, name) : await w.bytes(name);
        bytes += out.byteLength;
        opts.onTensor?.(name);
        return out;
      },
    };
  });
  const files = await writeSharded(dir, sources, opts.maxShardBytes ?? DEFAULT_SHARD_BYTES);
  await writeFile(join(dir, "config.json"), JSON.stringify(opts.rawConfig ?? ckpt.rawConfig, null, 2) + "\n");
  for (const f of SIDE_FILES) if (existsSync(join(ckpt.dir, f))) await copyFile(join(ckpt.dir, f), join(dir, f));
  return { files, bytes };
}
