// WeightStore: a checkpoint's tensors across one or many safetensors shards, opened lazily (headers only).

import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../util/errors.js";
import { toF32 } from "../runtime/convert.js";
import type { TensorInfo } from "./safetensors/header.js";
import { SafetensorsFile } from "./safetensors/reader.js";
import { INDEX_FILE } from "./safetensors/shards.js";

export class WeightStore {
  private constructor(
    readonly dir: string,
    private readonly files: SafetensorsFile[],
    private readonly fileOf: Map<string, SafetensorsFile>,
  ) {}

  static async open(dir: string): Promise<WeightStore> {
    const indexPath = join(dir, INDEX_FILE);
    let fileNames: string[];
    if (existsSync(indexPath)) {
      let index: { weight_map?: Record<string, string> };
      try {
        index = JSON.parse(await readFile(indexPath, "utf8"));
      } catch (e) {
        throw new InputError(`${indexPath}: not valid JSON (${(e as Error).message})`);
      }
      if (!index.weight_map) throw new InputError(`${indexPath}: no "weight_map"`);
      fileNames = [...new Set(Object.values(index.weight_map))];
    } else if (existsSync(join(dir, "model.safetensors"))) {
      fileNames = ["model.safetensors"];
    } else {
      const any = existsSync(dir) ? (await readdir(dir)).filter((f) => f.endsWith(".safetensors")) : [];
      if (any.length === 0) throw new InputError(`${dir}: no model.safetensors or ${INDEX_FILE} found`);
      fileNames = any.sort();
    }
    const files: SafetensorsFile[] = [];
    const fileOf = new Map<string, SafetensorsFile>();
    for (const f of fileNames) {
      const sf = await SafetensorsFile.open(join(dir, f));
      files.push(sf);
      for (const n of sf.names()) {
        if (fileOf.has(n)) throw new InputError(`${dir}: tensor ${n} appears in both ${fileOf.get(n)!.path} and ${sf.path}`);
        fileOf.set(n, sf);
      }
    }
    return new WeightStore(dir, files, fileOf);
  }

  names(): string[] {
    return [...this.fileOf.keys()];
  }

  has(name: string): boolean {
    return this.fileOf.has(name);
  }

  private file(name: string): SafetensorsFile {
    const f = this.fileOf.get(name);
    if (!f) throw new InputError(`${this.dir}: missing tensor ${name}`);
    return f;
  }

  info(name: string): TensorInfo {
    return this.file(name).info(name);
  }

  async bytes(name: string): Promise<Buffer> {
    return this.file(name).readBytes(name);
  }

  /** Reads a float tensor as fp32, checking its shape when `shape` is given. */
  async f32(name: string, shape?: number[]): Promise<Float32Array> {
    const f = this.file(name);
    const t = f.info(name);
    if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new InputError(`${f.path}: ${name}: expected shape ${JSON.stringify(shape)}, found ${t.dtype} ${JSON.stringify(t.shape)}`);
    }
    return toF32(await f.readBytes(name), t.dtype, `${f.path}: ${name}`);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}
