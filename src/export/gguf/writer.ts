// GGUF v3 writer (ggml docs/gguf.md): header, typed metadata key-values, tensor infos (dims innermost first,
// offsets aligned to general.alignment = 32), then tensor data produced one tensor at a time.

import { open } from "node:fs/promises";
import { InputError } from "../../util/errors.js";
import { GGML_TYPE_ID, rowBytes, type GgmlType } from "./quants.js";

export type GgufValue =
  | { type: "u32"; v: number }
  | { type: "i32"; v: number }
  | { type: "f32"; v: number }
  | { type: "bool"; v: boolean }
  | { type: "str"; v: string }
  | { type: "arr_str"; v: string[] }
  | { type: "arr_i32"; v: number[] }
  | { type: "arr_f32"; v: number[] };

export interface GgufTensor {
  name: string;
  type: GgmlType;
  /** ggml order: ne[0] = row length (HF [N, K] → [K, N]) */
  dims: number[];
  /** the tensor's bytes (rows of `type`), produced when written */
  bytes: () => Promise<Uint8Array> | Uint8Array;
}

export const ALIGNMENT = 32;
const VT = { u32: 4, i32: 5, f32: 6, bool: 7, str: 8, arr: 9 } as const;

class Buf {
  private parts: Buffer[] = [];
  size = 0;
  push(b: Buffer): void { this.parts.push(b); this.size += b.length; }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.push(b); }
  i32(v: number): void { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  u64(v: number): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  f32(v: number): void { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  str(s: string): void { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.push(b); }
  concat(): Buffer { return Buffer.concat(this.parts); }
}

function writeValue(b: Buf, val: GgufValue): void {
  switch (val.type) {
    case "u32": b.u32(VT.u32); b.u32(val.v); break;
    case "i32": b.u32(VT.i32); b.i32(val.v); break;
    case "f32": b.u32(VT.f32); b.f32(val.v); break;
    case "bool": b.u32(VT.bool); b.push(Buffer.from([val.v ? 1 : 0])); break;
    case "str": b.u32(VT.str); b.str(val.v); break;
    case "arr_str": b.u32(VT.arr); b.u32(VT.str); b.u64(val.v.length); for (const s of val.v) b.str(s); break;
    case "arr_i32": b.u32(VT.arr); b.u32(VT.i32); b.u64(val.v.length); for (const x of val.v) b.i32(x); break;
    case "arr_f32": b.u32(VT.arr); b.u32(VT.f32); b.u64(val.v.length); for (const x of val.v) b.f32(x); break;
  }
}

export function tensorBytes(t: Pick<GgufTensor, "type" | "dims">): number {
  const rows = t.dims.slice(1).reduce((a, b) => a * b, 1);
  return rows * rowBytes(t.type, t.dims[0]!);
}

const align = (x: number) => Math.ceil(x / ALIGNMENT) * ALIGNMENT;

/** Writes a whole GGUF file; returns its size in bytes. */
export async function writeGguf(path: string, kv: [string, GgufValue][], tensors: GgufTensor[]): Promise<number> {
  const h = new Buf();
  h.push(Buffer.from("GGUF", "ascii"));
  h.u32(3);
  h.u64(tensors.length);
  h.u64(kv.length);
  for (const [k, v] of kv) { h.str(k); writeValue(h, v); }
  const offsets: number[] = [];
  let off = 0;
  for (const t of tensors) {
    h.str(t.name);
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(d);
    h.u32(GGML_TYPE_ID[t.type]);
    off = align(off);
    offsets.push(off);
    h.u64(off);
    off += tensorBytes(t);
  }
  const header = h.concat();
  const dataStart = align(header.length);
  const fh = await open(path, "w");
  try {
    await fh.write(header, 0, header.length, 0);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      const data = await t.bytes();
      if (data.byteLength !== tensorBytes(t)) throw new InputError(`GGUF tensor ${t.name}: ${t.type} ${JSON.stringify(t.dims)} needs ${tensorBytes(t)} bytes, got ${data.byteLength}`);
      await fh.write(data, 0, data.byteLength, dataStart + offsets[i]!);
    }
    const end = dataStart + align(off);
    await fh.truncate(end);
    return end;
  } finally {
    await fh.close();
  }
}
