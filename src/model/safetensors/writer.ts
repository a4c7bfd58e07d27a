// Streaming safetensors writer: the header is computed from shapes first, then each tensor's bytes are
// produced on demand and written in order, so only one tensor is in memory at a time.

import { open } from "node:fs/promises";
import { InputError } from "../../util/errors.js";
import { byteSize, type Dtype } from "./dtypes.js";
import { canonicalOrder, serializeHeader } from "./header.js";

export interface TensorSource {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Produces the tensor's little-endian bytes when it is its turn to be written. */
  bytes: () => Promise<Uint8Array> | Uint8Array;
}

export interface WriteOptions {
  metadata?: Record<string, string>;
  /** Keep the given order instead of the canonical one (dtype rank, then name). */
  keepOrder?: boolean;
}

export const DEFAULT_METADATA = { format: "pt" };

/** Writes one safetensors file; returns the number of data bytes written. */
export async function writeSafetensors(path: string, tensors: TensorSource[], opts: WriteOptions = {}): Promise<number> {
  const ordered = opts.keepOrder ? tensors : canonicalOrder(tensors);
  const { bytes: header, offsets } = serializeHeader(ordered, opts.metadata ?? DEFAULT_METADATA);
  const fh = await open(path, "w");
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    await fh.write(len, 0, 8, 0);
    await fh.write(header, 0, header.length, 8);
    const base = 8 + header.length;
    for (let i = 0; i < ordered.length; i++) {
      const t = ordered[i]!;
      const data = await t.bytes();
      const want = byteSize(t.dtype, t.shape)!;
      if (data.byteLength !== want) {
        throw new InputError(`tensor ${t.name}: ${t.dtype} ${JSON.stringify(t.shape)} needs ${want} bytes, got ${data.byteLength}`);
      }
      await fh.write(data, 0, data.byteLength, base + offsets[i]!);
    }
    return offsets[ordered.length]!;
  } finally {
    await fh.close();
  }
}
