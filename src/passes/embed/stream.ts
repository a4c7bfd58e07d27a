// The embed pass streamed over a RowSource: PCA fit pass (covariance + one batch), an absmax pass when a tensor
// scale needs one, then project + cast batch by batch into the output codes, measuring reconstruction error as it goes.
// Resident: covariance d², one input batch, and the output [rows, k] (1 byte per value for float8).

import type { Float8Format } from "../../runtime/float8.js";
import { CovarianceAccumulator, componentsFor, pcaFromCovariance, pcaProject, pcaReconstruct, type Pca } from "./pca.js";
import { absmaxOf, dequantizeFloat8, quantizeFloat8, tensorScaleOf, type ScaleMode } from "./quantize.js";
import type { CompressedMatrix, EmbedParams } from "./codec.js";
import { roundThrough } from "./codec.js";
import { batchRanges, type RowSource } from "./source.js";
import type { ReconError } from "./metrics.js";

export const STREAM_BATCH = 16384;

export type Progress = (phase: string, done: number, total: number) => void;

/** src rows [n, d] → compressed; PCA fitted on `fitOn` (default src). Also returns the reconstruction error. */
export async function compressStream(
  src: RowSource, params: EmbedParams, fitOn?: RowSource, progress?: Progress, batch = STREAM_BATCH,
): Promise<{ c: CompressedMatrix; error: ReconError }> {
  const n = src.rows, d = src.dim;
  let pca: Pca | undefined;
  if (params.pca !== undefined) {
    const fit = fitOn ?? src;
    const acc = new CovarianceAccumulator(d);
    for (const [s, m] of batchRanges(fit.rows, batch)) {
      await acc.add(await fit.read(s, m), m);
      progress?.("pca fit", s + m, fit.rows);
    }
    pca = pcaFromCovariance(acc, componentsFor(params.pca, d));
  }
  const k = pca?.k ?? d;
  const project = async (x: Float32Array, m: number) => (pca ? pcaProject(pca, x, m) : x);
  let tensorScale: number | undefined;
  const fmt = params.float8 === "none" ? undefined : (params.float8 as Float8Format);
  if (fmt && params.scale === "tensor") {
    let amax = 0;
    for (const [s, m] of batchRanges(n, batch)) {
      amax = Math.max(amax, absmaxOf(await project(await src.read(s, m), m)));
      progress?.("absmax", s + m, n);
    }
    tensorScale = tensorScaleOf(amax, fmt);
  }
  const codes = fmt ? new Uint8Array(n * k) : undefined;
  const plain = fmt ? undefined : new Float32Array(n * k);
  const scales = new Float32Array(fmt && params.scale === "row" ? n : fmt && params.scale === "tensor" ? 1 : 0);
  if (tensorScale !== undefined) scales[0] = tensorScale;
  const err = new ErrorAccumulator();
  for (const [s, m] of batchRanges(n, batch)) {
    const x = await src.read(s, m);
    const y = await project(x, m);
    let stored: Float32Array;
    if (fmt) {
      const q = quantizeFloat8(y, m, k, fmt, params.scale as ScaleMode, tensorScale);
      codes!.set(q.codes, s * k);
      if (params.scale === "row") scales.set(q.scales, s);
      stored = dequantizeFloat8(q);
    } else {
      stored = roundThrough(y === x ? Float32Array.from(x) : y, params.plainDtype);
      plain!.set(stored, s * k);
    }
    err.add(x, pca ? await pcaReconstruct(pca.basis, pca.mean, stored, m, k, d) : stored, m, d);
    progress?.("encode", s + m, n);
  }
  const c: CompressedMatrix = { rows: n, dim: d, k };
  if (pca) c.pca = { basis: pca.basis, mean: pca.mean, explainedVariance: pca.totalVariance > 0 ? pca.variances.reduce((a, v) => a + v, 0) / pca.totalVariance : 1 };
  if (fmt) c.f8 = { format: fmt, scaleMode: params.scale, rows: n, cols: k, codes: codes!, scales };
  else c.plain = { dtype: params.plainDtype, values: plain! };
  return { c, error: err.result() };
}

/** Streaming version of metrics.reconstructionError. */
export class ErrorAccumulator {
  private num = 0; private den = 0; private cosSum = 0; private cosMin = Infinity; private maxAbs = 0; private counted = 0;
  add(x: Float32Array, xh: Float32Array, rows: number, d: number): void {
    for (let r = 0; r < rows; r++) {
      let dot = 0, nx = 0, nh = 0;
      for (let j = 0; j < d; j++) {
        const a = x[r * d + j]!, b = xh[r * d + j]!, e = b - a;
        this.num += e * e;
        this.den += a * a;
        dot += a * b; nx += a * a; nh += b * b;
        if (Math.abs(e) > this.maxAbs) this.maxAbs = Math.abs(e);
      }
      if (nx > 0 && nh > 0) {
        const c = dot / Math.sqrt(nx * nh);
        this.cosSum += c;
        this.cosMin = Math.min(this.cosMin, c);
        this.counted++;
      }
    }
  }
  result(): ReconError {
    const n = this.counted;
    return { relativeMse: this.den > 0 ? this.num / this.den : 0, meanCosine: n ? this.cosSum / n : 1, minCosine: n ? this.cosMin : 1, maxAbsError: this.maxAbs };
  }
}

/** Stored-space rows [start, start+count) of a compressed matrix, decoded to fp32 [count, k]. */
export function storedRows(c: CompressedMatrix, start: number, count: number): Float32Array {
  const k = c.k;
  if (c.plain) return c.plain.values.slice(start * k, (start + count) * k);
  const f = c.f8!;
  const scales = f.scaleMode === "row" ? f.scales.subarray(start, start + count) : f.scales;
  return dequantizeFloat8({ ...f, rows: count, codes: f.codes.subarray(start * k, (start + count) * k), scales });
}

/** Reconstructed rows (original space) [count, dim]. */
export async function reconstructedRows(c: CompressedMatrix, start: number, count: number): Promise<Float32Array> {
  const y = storedRows(c, start, count);
  return c.pca ? pcaReconstruct(c.pca.basis, c.pca.mean, y, count, c.k, c.dim) : y;
}
