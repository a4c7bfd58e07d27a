// How a compressed table is laid out in safetensors, and its description (config.json `memc_embedding`
// for checkpoints, safetensors `__metadata__.memc_embedding` for vector stores).
//   <base>.weight_f8     F8_E4M3 | F8_E5M2 [rows, k]   (or <base>.weight_reduced in BF16/F16/F32 without float8)
//   <base>.weight_scale  F32 [1] (tensor) | [rows, 1] (row); absent for scale none
//   <base>.pca_basis     F32 [k, dim] (rows = principal axes);  <base>.pca_mean  F32 [dim]
// Decode: x̂ = (decode(codes) · scale) · basis + mean.

import { FLOAT8_DTYPE, type Float8Format } from "../../runtime/float8.js";
import type { TensorSource } from "../../model/safetensors/writer.js";
import { InputError } from "../../util/errors.js";
import type { CompressedMatrix, PlainDtype } from "./codec.js";
import { SCALE_MODES, type ScaleMode } from "./quantize.js";
import { fromF32 } from "../../runtime/convert.js";

export const CONFIG_KEY = "memc_embedding";
export const LAYOUT_VERSION = 1;

export interface TableEntry {
  /** Original tensor shape [rows, dim] and dtype. */
  shape: [number, number];
  source_dtype: string;
  float8: Float8Format | "none";
  scale: ScaleMode;
  /** Stored width (PCA components, or dim). */
  k: number;
  pca: boolean;
  values: string;
  values_dtype: string;
  scale_tensor?: string;
  basis?: string;
  mean?: string;
}

export interface EmbeddingConfig {
  version: number;
  tables: Record<string, TableEntry>;
}

/** `model.embed_tokens.weight` → `model.embed_tokens`; other names are used as they are. */
export function baseName(tensor: string): string {
  return tensor.endsWith(".weight") ? tensor.slice(0, -".weight".length) : tensor;
}

/** The tensors and the description of one compressed matrix stored under `base`. */
export function layoutTensors(base: string, c: CompressedMatrix, sourceDtype: string): { entry: TableEntry; tensors: TensorSource[] } {
  const tensors: TensorSource[] = [];
  let values: string, valuesDtype: string;
  if (c.f8) {
    values = `${base}.weight_f8`;
    valuesDtype = FLOAT8_DTYPE[c.f8.format];
    const codes = c.f8.codes;
    tensors.push({ name: values, dtype: valuesDtype as "F8_E4M3", shape: [c.rows, c.k], bytes: () => codes });
  } else {
    const p = c.plain!;
    values = `${base}.weight_reduced`;
    valuesDtype = p.dtype;
    tensors.push({ name: values, dtype: p.dtype, shape: [c.rows, c.k], bytes: () => fromF32(p.values, p.dtype, values) });
  }
  const entry: TableEntry = {
    shape: [c.rows, c.dim], source_dtype: sourceDtype, float8: c.f8?.format ?? "none", scale: c.f8?.scaleMode ?? "none",
    k: c.k, pca: c.pca !== undefined, values, values_dtype: valuesDtype,
  };
  if (c.f8 && c.f8.scaleMode !== "none") {
    const s = c.f8.scales;
    entry.scale_tensor = `${base}.weight_scale`;
    tensors.push({ name: entry.scale_tensor, dtype: "F32", shape: c.f8.scaleMode === "row" ? [c.rows, 1] : [1], bytes: () => fromF32(s, "F32") });
  }
  if (c.pca) {
    const { basis, mean } = c.pca;
    entry.basis = `${base}.pca_basis`;
    entry.mean = `${base}.pca_mean`;
    tensors.push({ name: entry.basis, dtype: "F32", shape: [c.k, c.dim], bytes: () => fromF32(basis, "F32") });
    tensors.push({ name: entry.mean, dtype: "F32", shape: [c.dim], bytes: () => fromF32(mean, "F32") });
  }
  return { entry, tensors };
}

/** Validates a `memc_embedding` description read from a file; `where` names the file. */
export function parseEmbeddingConfig(raw: unknown, where: string): EmbeddingConfig {
  const bad = (msg: string) => new InputError(`${where}: ${CONFIG_KEY}: ${msg}`);
  if (typeof raw !== "object" || raw === null) throw bad("expected an object");
  const cfg = raw as Partial<EmbeddingConfig>;
  if (cfg.version !== LAYOUT_VERSION) throw bad(`version ${JSON.stringify(cfg.version)} is not supported (expected ${LAYOUT_VERSION})`);
  if (typeof cfg.tables !== "object" || cfg.tables === null) throw bad(`missing "tables"`);
  for (const [name, e] of Object.entries(cfg.tables)) {
    if (!Array.isArray(e.shape) || e.shape.length !== 2) throw bad(`${name}: "shape" must be [rows, dim]`);
    if (!["e4m3", "e5m2", "none"].includes(e.float8)) throw bad(`${name}: float8 ${JSON.stringify(e.float8)} (expected e4m3, e5m2 or none)`);
    if (!SCALE_MODES.includes(e.scale)) throw bad(`${name}: scale ${JSON.stringify(e.scale)} (expected ${SCALE_MODES.join(", ")})`);
    if (typeof e.values !== "string") throw bad(`${name}: missing "values" tensor name`);
    if (e.pca && (typeof e.basis !== "string" || typeof e.mean !== "string")) throw bad(`${name}: pca needs "basis" and "mean" tensor names`);
    if (e.scale !== "none" && typeof e.scale_tensor !== "string") throw bad(`${name}: scale ${e.scale} needs "scale_tensor"`);
  }
  return cfg as EmbeddingConfig;
}

export function plainDtypeOf(d: string): PlainDtype {
  return d === "F16" || d === "BF16" ? d : "F32";
}
