// safetensors header: parse + validate (every check of formats.md §1.2) and canonical serialisation (§1.3).

import { InputError } from "../../util/errors.js";
import { byteSize, dtypeRank, isDtype, type Dtype } from "./dtypes.js";

export const MAX_HEADER_SIZE = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Offsets relative to the data buffer start, [begin, end). */
  begin: number;
  end: number;
}

export interface Header {
  /** Byte length N of the JSON header (padding included); data starts at 8 + N. */
  headerSize: number;
  metadata: Record<string, string> | undefined;
  tensors: TensorInfo[];
}

/** Validates a parsed header against the file's size; `where` names the file in errors. */
export function parseHeader(json: string, headerSize: number, fileSize: number, where: string): Header {
  if (!json.startsWith("{")) throw new InputError(`${where}: header does not start with '{' (not a safetensors file?)`);
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new InputError(`${where}: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new InputError(`${where}: header is not a JSON object`);
  let metadata: Record<string, string> | undefined;
  const tensors: TensorInfo[] = [];
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = parseMetadata(v, where);
      continue;
    }
    tensors.push(parseTensorEntry(name, v, where));
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expect = 0;
  for (const t of tensors) {
    if (t.begin !== expect) {
      const what = t.begin < expect ? "overlaps the previous tensor" : "leaves a hole before it";
      throw new InputError(`${where}: tensor ${t.name}: data_offsets [${t.begin}, ${t.end}] ${what} (expected begin ${expect})`);
    }
    expect = t.end;
  }
  const dataSize = fileSize - 8 - headerSize;
  if (expect !== dataSize) {
    const last = tensors[tensors.length - 1];
    throw new InputError(
      `${where}: tensor data ends at ${expect} but the file holds ${dataSize} data bytes` +
        (expect > dataSize ? ` (file truncated? last tensor ${last?.name ?? "-"})` : " (trailing bytes)"),
    );
  }
  return { headerSize, metadata, tensors };
}

function parseMetadata(v: unknown, where: string): Record<string, string> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new InputError(`${where}: __metadata__ is not an object`);
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== "string") throw new InputError(`${where}: __metadata__.${k} is not a string (found ${JSON.stringify(val)})`);
  }
  return v as Record<string, string>;
}

function parseTensorEntry(name: string, v: unknown, where: string): TensorInfo {
  const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof e !== "object" || e === null) throw new InputError(`${where}: tensor ${name}: entry is not an object`);
  if (!isDtype(e.dtype)) throw new InputError(`${where}: tensor ${name}: unknown dtype ${JSON.stringify(e.dtype)}`);
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InputError(`${where}: tensor ${name}: bad shape ${JSON.stringify(shape)}`);
  }
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
    throw new InputError(`${where}: tensor ${name}: bad data_offsets ${JSON.stringify(off)}`);
  }
  const [begin, end] = off as [number, number];
  const size = byteSize(e.dtype, shape);
  if (size === undefined) throw new InputError(`${where}: tensor ${name}: ${e.dtype} ${JSON.stringify(shape)} does not fill whole bytes`);
  if (end - begin !== size) {
    throw new InputError(
      `${where}: tensor ${name}: ${e.dtype} ${JSON.stringify(shape)} needs ${size} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype: e.dtype, shape: shape as number[], begin, end };
}

export interface EntrySpec {
  name: string;
  dtype: Dtype;
  shape: number[];
}

/** Canonical order (formats.md §1.3): descending dtype rank, then name. */
export function canonicalOrder<T extends EntrySpec>(entries: T[]): T[] {
  return [...entries].sort((a, b) => dtypeRank(b.dtype) - dtypeRank(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Compact JSON header, padded with spaces to a multiple of 8. Entries must already be in file order. */
export function serializeHeader(entries: EntrySpec[], metadata: Record<string, string> | undefined): { bytes: Buffer; offsets: number[] } {
  const obj: Record<string, unknown> = {};
  if (metadata) obj.__metadata__ = metadata;
  const offsets: number[] = [];
  let pos = 0;
  for (const e of entries) {
    const size = byteSize(e.dtype, e.shape);
    if (size === undefined) throw new InputError(`tensor ${e.name}: ${e.dtype} ${JSON.stringify(e.shape)} does not fill whole bytes`);
    if (e.name in obj) throw new InputError(`tensor ${e.name}: duplicate name`);
    obj[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [pos, pos + size] };
    offsets.push(pos);
    pos += size;
  }
  offsets.push(pos);
  const json = JSON.stringify(obj);
  const len = Buffer.byteLength(json);
  const padded = Math.ceil(len / 8) * 8;
  const bytes = Buffer.alloc(padded, 0x20);
  bytes.write(json, 0, "utf8");
  return { bytes, offsets };
}
