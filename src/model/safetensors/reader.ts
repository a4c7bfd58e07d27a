// Lazy safetensors reader: parses only the header on open, reads tensors by name through byte ranges.
// Never loads a whole file; positions are JS numbers (exact to 2^53), so files over 4 GiB work.

import { open, type FileHandle } from "node:fs/promises";
import { InputError } from "../../util/errors.js";
import { MAX_HEADER_SIZE, parseHeader, type Header, type TensorInfo } from "./header.js";

const MAX_CHUNK = 1 << 30;

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly header: Header,
    private readonly byName: Map<string, TensorInfo>,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      throw new InputError(`${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    try {
      const size = (await fh.stat()).size;
      if (size < 8) throw new InputError(`${path}: file is ${size} bytes, too short for a safetensors header length`);
      const lenBuf = Buffer.alloc(8);
      await fh.read(lenBuf, 0, 8, 0);
      const n = lenBuf.readBigUInt64LE(0);
      if (n > BigInt(MAX_HEADER_SIZE)) throw new InputError(`${path}: header length ${n} exceeds the ${MAX_HEADER_SIZE}-byte limit`);
      const headerSize = Number(n);
      if (8 + headerSize > size) throw new InputError(`${path}: header length ${headerSize} runs past the end of the ${size}-byte file`);
      const hb = Buffer.alloc(headerSize);
      await fh.read(hb, 0, headerSize, 8);
      const header = parseHeader(hb.toString("utf8"), headerSize, size, path);
      const byName = new Map(header.tensors.map((t) => [t.name, t]));
      return new SafetensorsFile(path, fh, header, byName);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new InputError(`${this.path}: no tensor named ${name}`);
    return t;
  }

  /** Reads `length` bytes of a tensor's data starting at `offset` within it. */
  async readRange(name: string, offset: number, length: number): Promise<Buffer> {
    const t = this.info(name);
    if (offset < 0 || offset + length > t.end - t.begin) throw new InputError(`${this.path}: ${name}: range ${offset}+${length} outside the tensor`);
    const out = Buffer.allocUnsafeSlow(length); // unpooled: callers may view .buffer directly
    const base = 8 + this.header.headerSize + t.begin + offset;
    for (let done = 0; done < length; ) {
      const want = Math.min(MAX_CHUNK, length - done);
      const { bytesRead } = await this.fh.read(out, done, want, base + done);
      if (bytesRead === 0) throw new InputError(`${this.path}: ${name}: unexpected end of file`);
      done += bytesRead;
    }
    return out;
  }

  /** A whole tensor's bytes (tensors over ~2 GiB must be read in ranges instead). */
  async readBytes(name: string): Promise<Buffer> {
    const t = this.info(name);
    return this.readRange(name, 0, t.end - t.begin);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
