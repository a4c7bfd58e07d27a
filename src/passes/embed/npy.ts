// NumPy .npy (format v1–v3) for 2-D float vector stores: header parse, streamed row reads, and a writer.
// Accepts little-endian f4/f8/f2, C order; everything is returned as fp32.

import { open, writeFile } from "node:fs/promises";
import { f16ToF32 } from "../../runtime/dtypes.js";
import { InputError } from "../../util/errors.js";

export interface NpyInfo {
  path: string;
  rows: number;
  cols: number;
  /** bytes per element: 4 (<f4), 8 (<f8) or 2 (<f2) */
  itemBytes: number;
  descr: string;
  dataOffset: number;
}

export async function readNpyInfo(path: string): Promise<NpyInfo> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw new InputError(`${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const pre = Buffer.alloc(12);
    await fh.read(pre, 0, 12, 0);
    if (pre[0] !== 0x93 || pre.toString("latin1", 1, 6) !== "NUMPY") throw new InputError(`${path}: not a .npy file (bad magic)`);
    const major = pre[6]!;
    const hlen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const hb = Buffer.alloc(hlen);
    await fh.read(hb, 0, hlen, start);
    const h = hb.toString(major === 3 ? "utf8" : "latin1");
    const descr = /'descr'\s*:\s*'([^']+)'/.exec(h)?.[1];
    const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(h)?.[1];
    const shapeStr = /'shape'\s*:\s*\(([^)]*)\)/.exec(h)?.[1];
    if (!descr || !fortran || shapeStr === undefined) throw new InputError(`${path}: cannot parse the .npy header ${JSON.stringify(h.trim())}`);
    const shape = shapeStr.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
    const itemBytes = ({ "<f4": 4, "<f8": 8, "<f2": 2 } as Record<string, number>)[descr];
    if (!itemBytes) throw new InputError(`${path}: dtype ${descr} not supported (expected little-endian float32 '<f4', '<f8' or '<f2')`);
    if (fortran === "True") throw new InputError(`${path}: fortran_order arrays are not supported (save with np.ascontiguousarray)`);
    if (shape.length !== 2) throw new InputError(`${path}: expected a 2-D array [n, d], found shape (${shape.join(", ")})`);
    const info = { path, rows: shape[0]!, cols: shape[1]!, itemBytes, descr, dataOffset: start + hlen };
    const size = (await fh.stat()).size;
    if (size < info.dataOffset + info.rows * info.cols * itemBytes) throw new InputError(`${path}: file is ${size} bytes, too short for shape (${shape.join(", ")}) ${descr}`);
    return info;
  } finally {
    await fh.close();
  }
}

/** Rows [start, start+count) as fp32 [count, cols]. */
export async function readNpyRows(info: NpyInfo, start: number, count: number): Promise<Float32Array> {
  const fh = await open(info.path, "r");
  try {
    const bytes = count * info.cols * info.itemBytes;
    const buf = Buffer.allocUnsafe(bytes);
    let done = 0;
    while (done < bytes) {
      const { bytesRead } = await fh.read(buf, done, Math.min(bytes - done, 1 << 30), info.dataOffset + start * info.cols * info.itemBytes + done);
      if (bytesRead === 0) throw new InputError(`${info.path}: unexpected end of file`);
      done += bytesRead;
    }
    const n = count * info.cols;
    const out = new Float32Array(n);
    if (info.itemBytes === 4) new Uint8Array(out.buffer).set(buf.subarray(0, bytes));
    else if (info.itemBytes === 8) for (let i = 0; i < n; i++) out[i] = buf.readDoubleLE(8 * i);
    else for (let i = 0; i < n; i++) out[i] = f16ToF32(buf.readUInt16LE(2 * i));
    return out;
  } finally {
    await fh.close();
  }
}

/** Writes x [rows, cols] fp32 as a v1 .npy file. */
export async function writeNpy(path: string, x: Float32Array, rows: number, cols: number): Promise<void> {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const pre = Buffer.alloc(10);
  pre[0] = 0x93;
  pre.write("NUMPY", 1, "latin1");
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  await writeFile(path, Buffer.concat([pre, Buffer.from(header, "latin1"), Buffer.from(x.buffer, x.byteOffset, x.byteLength)]));
}
