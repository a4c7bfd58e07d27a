// Row sources for vector stores: read [count, d] fp32 row ranges on demand from a .npy file, a safetensors
// tensor, or memory — so PCA fit, encoding and retrieval stream over stores larger than memory.

import { extname } from "node:path";
import { SafetensorsFile } from "../../model/safetensors/reader.js";
import { dtypeBits } from "../../model/safetensors/dtypes.js";
import { toF32 } from "../../runtime/convert.js";
import { InputError } from "../../util/errors.js";
import { readNpyInfo, readNpyRows } from "./npy.js";

export interface RowSource {
  rows: number;
  dim: number;
  /** bytes per value in the source (4 for fp32, 2 for bf16/f16) and its dtype name */
  sourceBytes: number;
  sourceDtype: string;
  /** rows [start, start+count) → fp32 [count, dim] (a fresh array the caller may keep or modify) */
  read(start: number, count: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export function memorySource(x: Float32Array, rows: number, dim: number, sourceDtype = "F32"): RowSource {
  return {
    rows, dim, sourceBytes: 4, sourceDtype,
    read: async (s, c) => x.slice(s * dim, (s + c) * dim),
    close: async () => {},
  };
}

/** .npy [n, d] float, or a 2-D tensor of a safetensors file (`tensor`, or its only 2-D tensor). */
export async function openVectorSource(path: string, tensor?: string): Promise<RowSource> {
  if (extname(path) === ".npy") {
    const info = await readNpyInfo(path);
    return { rows: info.rows, dim: info.cols, sourceBytes: info.itemBytes, sourceDtype: info.descr, read: (s, c) => readNpyRows(info, s, c), close: async () => {} };
  }
  if (extname(path) !== ".safetensors") throw new InputError(`${path}: expected a .npy file, a .safetensors file or a checkpoint directory`);
  const f = await SafetensorsFile.open(path);
  try {
    const two = f.header.tensors.filter((t) => t.shape.length === 2);
    let name = tensor;
    if (!name) {
      if (two.length !== 1) throw new InputError(`${path}: ${two.length} 2-D tensors (${two.slice(0, 5).map((t) => t.name).join(", ")}${two.length > 5 ? ", …" : ""}); pick one with --tensor`);
      name = two[0]!.name;
    }
    const info = f.info(name);
    if (info.shape.length !== 2) throw new InputError(`${path}: ${name}: expected [n, d], found ${JSON.stringify(info.shape)}`);
    if (!["F32", "F16", "BF16", "F64"].includes(info.dtype)) throw new InputError(`${path}: ${name}: dtype ${info.dtype} is not a float store (F32, F16, BF16, F64)`);
    const [rows, dim] = info.shape as [number, number];
    const bytes = dtypeBits(info.dtype) / 8;
    const where = `${path}: ${name}`;
    return {
      rows, dim, sourceBytes: bytes, sourceDtype: info.dtype,
      read: async (s, c) => toF32(await f.readRange(name, s * dim * bytes, c * dim * bytes), info.dtype, where),
      close: () => f.close(),
    };
  } catch (e) {
    await f.close();
    throw e;
  }
}

/** Reads a whole (small) source into memory: queries and calibration sets. */
export async function readAll(src: RowSource): Promise<Float32Array> {
  return src.read(0, src.rows);
}

/** Consecutive row batches of a source: [start, count] pairs. */
export function* batchRanges(rows: number, batch: number): Generator<[number, number]> {
  for (let s = 0; s < rows; s += batch) yield [s, Math.min(batch, rows - s)];
}
