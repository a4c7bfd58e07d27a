// Per-block resume state for layer-by-layer calibration passes (OmniQuant main.py --resume / omni_parameters.pth):
// after each finished block, its learned parameters go to DIR/block-NNNN.safetensors and DIR/state.json records the
// block (written via rename, so a kill leaves either the old or the new state). A run with another fingerprint refuses.

import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SafetensorsFile } from "../model/safetensors/reader.js";
import { writeSafetensors } from "../model/safetensors/writer.js";
import { toF32 } from "../runtime/convert.js";
import { InputError } from "../util/errors.js";

export interface ResumeFile<R> {
  fingerprint: string;
  blocks: { layer: number; file: string; report: R }[];
}

export class BlockCheckpoints<R> {
  private constructor(readonly dir: string, private state: ResumeFile<R>) {}

  /** Opens (or starts) DIR; throws when DIR holds state from a run with a different fingerprint. */
  static async open<R>(dir: string, fingerprint: string): Promise<BlockCheckpoints<R>> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, "state.json");
    if (existsSync(path)) {
      const st = JSON.parse(await readFile(path, "utf8")) as ResumeFile<R>;
      if (st.fingerprint !== fingerprint) {
        throw new InputError(`${dir}: resume state is from a run with other settings (${st.fingerprint}); now ${fingerprint}. Delete ${dir} or repeat the original command`);
      }
      return new BlockCheckpoints(dir, st);
    }
    return new BlockCheckpoints(dir, { fingerprint, blocks: [] });
  }

  finished(layer: number): boolean {
    return this.state.blocks.some((b) => b.layer === layer);
  }

  async load(layer: number): Promise<{ params: Map<string, Float32Array>; report: R }> {
    const b = this.state.blocks.find((x) => x.layer === layer);
    if (!b) throw new Error(`no checkpoint for layer ${layer} in ${this.dir}`);
    const f = await SafetensorsFile.open(join(this.dir, b.file));
    try {
      const params = new Map<string, Float32Array>();
      for (const n of f.names()) params.set(n, toF32(await f.readBytes(n), f.info(n).dtype, `${b.file}: ${n}`));
      return { params, report: b.report };
    } finally {
      await f.close();
    }
  }

  /** params: name → fp32 vector; written before state.json names it */
  async save(layer: number, params: Map<string, Float32Array>, report: R): Promise<void> {
    const file = `block-${String(layer).padStart(4, "0")}.safetensors`;
    const tensors = [...params].map(([name, v]) => ({ name, dtype: "F32" as const, shape: [v.length], bytes: () => new Uint8Array(v.buffer, v.byteOffset, v.byteLength) }));
    await writeSafetensors(join(this.dir, `${file}.tmp`), tensors);
    await rename(join(this.dir, `${file}.tmp`), join(this.dir, file));
    this.state.blocks = [...this.state.blocks.filter((b) => b.layer !== layer), { layer, file, report }];
    await writeFile(join(this.dir, "state.json.tmp"), JSON.stringify(this.state, null, 2) + "\n");
    await rename(join(this.dir, "state.json.tmp"), join(this.dir, "state.json"));
  }
}
