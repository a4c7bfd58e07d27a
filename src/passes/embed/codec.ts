// The embed pass on an in-memory matrix: optional PCA (fit, project), then float8 (or a plain float dtype),
// and the inverse. Order as in the paper: reduce first, then quantize.

import { f32ToBf16, f32ToF16, bf16ToF32, f16ToF32 } from "../../runtime/dtypes.js";
import type { Float8Format } from "../../runtime/float8.js";
import { pcaProject, pcaReconstruct, rowBatches, type Pca } from "./pca.js";
import { dequantizeFloat8, quantizeFloat8, type Float8Matrix, type ScaleMode } from "./quantize.js";
import { memorySource } from "./source.js";
import { compressStream } from "./stream.js";

export type PlainDtype = "F32" | "F16" | "BF16";

export interface EmbedParams {
  float8: Float8Format | "none";
  /** Fraction of dimensions kept by PCA; undefined = no PCA. */
  pca?: number;
  scale: ScaleMode;
  /** Storage dtype of the (reduced) values when float8 is "none". */
  plainDtype: PlainDtype;
}

export interface CompressedMatrix {
  rows: number;
  dim: number;
  /** Stored width: PCA components, or dim without PCA. */
  k: number;
  pca?: Pick<Pca, "basis" | "mean"> & { explainedVariance: number };
  /** float8 codes [rows, k] + scales, when params.float8 != none */
  f8?: Float8Matrix;
  /** values [rows, k] already rounded to plainDtype, when params.float8 == none */
  plain?: { dtype: PlainDtype; values: Float32Array };
}

const BATCH_ROWS = 16384;

/** Rounds fp32 values through a 16-bit storage dtype (in place) so later maths sees what is stored. */
export function roundThrough(x: Float32Array, dtype: PlainDtype): Float32Array {
  if (dtype === "BF16") for (let i = 0; i < x.length; i++) x[i] = bf16ToF32(f32ToBf16(x[i]!));
  else if (dtype === "F16") for (let i = 0; i < x.length; i++) x[i] = f16ToF32(f32ToF16(x[i]!));
  return x;
}

export async function projectAll(p: Pick<Pca, "basis" | "mean" | "dim" | "k">, x: Float32Array, rows: number): Promise<Float32Array> {
  const y = new Float32Array(rows * p.k);
  let r = 0;
  for (const b of rowBatches(x, p.dim, BATCH_ROWS)) {
    const n = b.length / p.dim;
    y.set(await pcaProject(p as Pca, Float32Array.from(b), n), r * p.k);
    r += n;
  }
  return y;
}

/** x [rows, dim] fp32 → compressed. PCA is fitted on `fitOn` ([m, dim], default x itself). The same
 *  streamed code path as vector stores (stream.ts), over an in-memory source. */
export async function compressMatrix(x: Float32Array, rows: number, dim: number, params: EmbedParams, fitOn?: Float32Array): Promise<CompressedMatrix> {
  const fit = fitOn ? memorySource(fitOn, fitOn.length / dim, dim) : undefined;
  return (await compressStream(memorySource(x, rows, dim), params, fit)).c;
}

/** The stored values decoded to fp32, in the stored space: [rows, k]. */
export function decodeStored(c: CompressedMatrix): Float32Array {
  if (c.f8) return dequantizeFloat8(c.f8);
  if (c.plain) return c.plain.values;
  throw new Error("compressed matrix holds neither float8 codes nor plain values");
}

/** Back to the original space: [rows, dim] fp32. */
export async function reconstructMatrix(c: CompressedMatrix): Promise<Float32Array> {
  const y = decodeStored(c);
  if (!c.pca) return y;
  return pcaReconstruct(c.pca.basis, c.pca.mean, y, c.rows, c.k, c.dim);
}

/** Applies the same transform to other vectors (queries): same PCA, same format; a tensor scale is reused,
 *  row scales are computed per query row. q [rows, dim] → stored-space fp32 [rows, k]. */
export async function transformLike(c: CompressedMatrix, q: Float32Array, rows: number): Promise<Float32Array> {
  let y = q;
  if (c.pca) y = await projectAll({ basis: c.pca.basis, mean: c.pca.mean, dim: c.dim, k: c.k }, q, rows);
  if (c.plain) return roundThrough(y === q ? Float32Array.from(q) : y, c.plain.dtype);
  const f8 = c.f8!;
  const ts = f8.scaleMode === "tensor" ? f8.scales[0] : undefined;
  return dequantizeFloat8(quantizeFloat8(y, rows, c.k, f8.format, f8.scaleMode, ts));
}

/** Stored bytes of a compressed matrix: values + scales + PCA basis and mean (all fp32 extras). */
export function storedBytes(c: CompressedMatrix): { values: number; scales: number; pca: number; total: number } {
  const values = c.f8 ? c.f8.codes.byteLength : c.rows * c.k * (c.plain!.dtype === "F32" ? 4 : 2);
  const scales = c.f8 ? c.f8.scales.byteLength : 0;
  const pca = c.pca ? c.pca.basis.byteLength + c.pca.mean.byteLength : 0;
  return { values, scales, pca, total: values + scales + pca };
}

