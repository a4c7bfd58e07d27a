// Sharded checkpoints: `model-0000i-of-0000n.safetensors` filled greedily in key order up to a byte cap,
// plus `model.safetensors.index.json` (formats.md §1.5). One shard is written as `model.safetensors`.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { byteSize, numel } from "./dtypes.js";
import { writeSafetensors, type TensorSource } from "./writer.js";

export const DEFAULT_SHARD_BYTES = 5_000_000_000;
export const INDEX_FILE = "model.safetensors.index.json";

export interface ShardPlan {
  files: { file: string; tensors: TensorSource[] }[];
  weightMap: Record<string, string>;
  totalSize: number;
  totalParameters: number;
}

export function planShards(tensors: TensorSource[], maxShardBytes = DEFAULT_SHARD_BYTES): ShardPlan {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const groups: TensorSource[][] = [];
  let current: TensorSource[] = [];
  let size = 0;
  let totalSize = 0;
  let totalParameters = 0;
  for (const t of sorted) {
    const b = byteSize(t.dtype, t.shape) ?? 0;
    if (current.length > 0 && size + b > maxShardBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += b;
    totalSize += b;
    totalParameters += numel(t.shape);
  }
  if (current.length > 0) groups.push(current);
  const n = groups.length;
  const pad = (i: number) => String(i).padStart(5, "0");
  const files = groups.map((g, i) => ({ file: n === 1 ? "model.safetensors" : `model-${pad(i + 1)}-of-${pad(n)}.safetensors`, tensors: g }));
  const weightMap: Record<string, string> = {};
  for (const f of files) for (const t of f.tensors) weightMap[t.name] = f.file;
  return { files, weightMap, totalSize, totalParameters };
}

/** Writes the shards (and the index when there is more than one) into `dir`; returns the file names. */
export async function writeSharded(dir: string, tensors: TensorSource[], maxShardBytes = DEFAULT_SHARD_BYTES): Promise<string[]> {
  const plan = planShards(tensors, maxShardBytes);
  for (const f of plan.files) await writeSafetensors(join(dir, f.file), f.tensors);
  if (plan.files.length > 1) {
    const sortedMap = Object.fromEntries(Object.entries(plan.weightMap).sort(([a], [b]) => (a < b ? -1 : 1)));
    const index = { metadata: { total_parameters: plan.totalParameters, total_size: plan.totalSize }, weight_map: sortedMap };
    await writeFile(join(dir, INDEX_FILE), JSON.stringify(index, null, 2) + "\n");
    return [...plan.files.map((f) => f.file), INDEX_FILE];
  }
  return plan.files.map((f) => f.file);
}
