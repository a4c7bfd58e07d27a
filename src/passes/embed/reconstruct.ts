// Reading compressed tables back: float8 codes (+ scales) or reduced values, PCA basis and mean → fp32
// [rows, dim]. `embeddingWeightSource` makes a compressed checkpoint look like a plain one to the forward.

import type { Checkpoint } from "../../model/checkpoint.js";
import type { TensorInfo } from "../../model/safetensors/header.js";
import { toF32 } from "../../runtime/convert.js";
import { InputError } from "../../util/errors.js";
import type { WeightSource } from "../../nn/layer-weights.js";
import { reconstructMatrix, type CompressedMatrix } from "./codec.js";
import { CONFIG_KEY, parseEmbeddingConfig, plainDtypeOf, type EmbeddingConfig, type TableEntry } from "./layout.js";

export interface TensorReader {
  info(name: string): TensorInfo;
  bytes(name: string): Promise<Uint8Array>;
}

async function readF32(r: TensorReader, name: string, shape: number[], where: string): Promise<Float32Array> {
  const t = r.info(name);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new InputError(`${where}: ${name}: expected shape ${JSON.stringify(shape)}, found ${t.dtype} ${JSON.stringify(t.shape)}`);
  }
  return toF32(await r.bytes(name), t.dtype, `${where}: ${name}`);
}

/** One table's stored tensors → the CompressedMatrix they encode (checked against the entry). */
export async function readCompressed(r: TensorReader, e: TableEntry, where: string): Promise<CompressedMatrix> {
  const [rows, dim] = e.shape;
  const c: CompressedMatrix = { rows, dim, k: e.k };
  const vi = r.info(e.values);
  if (vi.shape[0] !== rows || vi.shape[1] !== e.k) throw new InputError(`${where}: ${e.values}: expected [${rows}, ${e.k}], found ${JSON.stringify(vi.shape)}`);
  if (e.float8 !== "none") {
    const want = e.float8 === "e4m3" ? "F8_E4M3" : "F8_E5M2";
    if (vi.dtype !== want) throw new InputError(`${where}: ${e.values}: expected ${want}, found ${vi.dtype}`);
    const codes = new Uint8Array(await r.bytes(e.values));
    const scales = e.scale === "none" ? new Float32Array(0) : await readF32(r, e.scale_tensor!, e.scale === "row" ? [rows, 1] : [1], where);
    c.f8 = { format: e.float8, scaleMode: e.scale, rows, cols: e.k, codes, scales };
  } else {
    c.plain = { dtype: plainDtypeOf(vi.dtype), values: await readF32(r, e.values, [rows, e.k], where) };
  }
  if (e.pca) {
    c.pca = { basis: await readF32(r, e.basis!, [e.k, dim], where), mean: await readF32(r, e.mean!, [dim], where), explainedVariance: NaN };
  }
  return c;
}

/** The checkpoint's `memc_embedding` description, or undefined for a plain checkpoint. */
export function embeddingConfigOf(ckpt: Pick<Checkpoint, "rawConfig" | "dir">): EmbeddingConfig | undefined {
  const raw = ckpt.rawConfig[CONFIG_KEY];
  return raw === undefined ? undefined : parseEmbeddingConfig(raw, `${ckpt.dir}/config.json`);
}

/** Every compressed table of a checkpoint reconstructed to fp32 [rows, dim], keyed by the original
 *  tensor name (e.g. `model.embed_tokens.weight`). Empty for a plain checkpoint. */
export async function reconstructEmbeddingTables(ckpt: Checkpoint): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  const cfg = embeddingConfigOf(ckpt);
  if (!cfg) return out;
  for (const [name, e] of Object.entries(cfg.tables)) {
    out.set(name, await reconstructMatrix(await readCompressed(ckpt.weights, e, ckpt.dir)));
  }
  return out;
}

/** Wraps a checkpoint's weights so compressed tables read as fp32 under their original names. Tables are
 *  reconstructed on first use. A plain checkpoint's source is returned as it is. */
export function embeddingWeightSource(ckpt: Checkpoint, base: WeightSource = ckpt.weights): WeightSource {
  const cfg = embeddingConfigOf(ckpt);
  if (!cfg) return base;
  const cache = new Map<string, Promise<Float32Array>>();
  return {
    has: (name) => name in cfg.tables || base.has(name),
    f32: async (name, shape) => {
      const e = cfg.tables[name];
      if (!e) return base.f32(name, shape);
      if (shape && (shape.length !== 2 || shape[0] !== e.shape[0] || shape[1] !== e.shape[1])) {
        throw new InputError(`${ckpt.dir}: ${name} (compressed): expected shape ${JSON.stringify(shape)}, found ${JSON.stringify(e.shape)}`);
      }
      let p = cache.get(name);
      if (!p) {
        p = readCompressed(ckpt.weights, e, ckpt.dir).then(reconstructMatrix);
        cache.set(name, p);
      }
      return p;
    },
  };
}
