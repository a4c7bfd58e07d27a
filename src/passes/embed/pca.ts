// PCA as the paper runs it (sklearn PCA: centred, no whitening, k = round(fraction·d)), fitted streaming:
// a fp64 covariance accumulator fed batch by batch (never more than d² + one batch resident), then symmetricEigen.

import { linearF32 } from "../../runtime/cpu/engine/ort-engine.js";
import { symmetricEigen } from "./eigen.js";

/** x [M, K] · w [N, K]ᵀ → [M, N] fp32: onnxruntime's CPU GEMM by default; a GPU backend can be passed in. */
export type Gemm = (x: Float32Array, w: Float32Array, M: number, K: number, N: number) => Promise<Float32Array>;

export interface Pca {
  dim: number;
  k: number;
  /** [d] fp32 */
  mean: Float32Array;
  /** Principal axes as rows, largest variance first: [k, d] fp32 (sklearn's components_). */
  basis: Float32Array;
  /** Variance along each kept axis [k], and the total variance (trace of the covariance). */
  variances: Float64Array;
  totalVariance: number;
  samples: number;
}

/** Streaming Σ(x−c)(x−c)ᵀ and Σ(x−c) around a shift c = the first batch's mean (limits cancellation). */
export class CovarianceAccumulator {
  private shift: Float32Array | undefined;
  private readonly sum: Float64Array;
  private readonly xtx: Float64Array;
  n = 0;

  constructor(readonly dim: number, private readonly gemm: Gemm = linearF32) {
    this.sum = new Float64Array(dim);
    this.xtx = new Float64Array(dim * dim);
  }

  /** batch: [rows, d] fp32, row-major. The product ZᵀZ runs as one onnxruntime GEMM. */
  async add(batch: Float32Array, rows: number): Promise<void> {
    const d = this.dim;
    if (batch.length < rows * d) throw new Error(`CovarianceAccumulator.add: batch has ${batch.length} values, need ${rows}×${d}`);
    if (rows === 0) return;
    if (!this.shift) {
      const m = new Float64Array(d);
      for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) m[j]! += batch[r * d + j]!;
      this.shift = Float32Array.from(m, (v) => v / rows);
    }
    const c = this.shift;
    const zt = new Float32Array(d * rows); // Zᵀ [d, rows]
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      for (let j = 0; j < d; j++) {
        const z = batch[o + j]! - c[j]!;
        zt[j * rows + r] = z;
        this.sum[j]! += z;
      }
    }
    const prod = await this.gemm(zt, zt, d, rows, d); // Zᵀ·Z [d, d]
    for (let i = 0; i < d * d; i++) this.xtx[i]! += prod[i]!;
    this.n += rows;
  }

  /** Mean [d] and the sample covariance [d, d] (divided by n − 1, as sklearn). */
  finish(): { mean: Float64Array; cov: Float64Array } {
    const d = this.dim, n = this.n;
    if (n < 2 || !this.shift) throw new Error(`PCA needs at least 2 vectors, got ${n}`);
    const mz = Float64Array.from(this.sum, (s) => s / n);
    const cov = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        // symmetrise: the fp32 GEMM is not bit-symmetric
        const s = 0.5 * (this.xtx[i * d + j]! + this.xtx[j * d + i]!);
        const v = (s - n * mz[i]! * mz[j]!) / (n - 1);
        cov[i * d + j] = v;
        cov[j * d + i] = v;
      }
    }
    const mean = Float64Array.from(mz, (v, j) => v + this.shift![j]!);
    return { mean, cov };
  }
}

/** Number of kept components for a fraction of d: the paper's Python round(fraction·d) (half to even), at least 1. */
export function componentsFor(fraction: number, dim: number): number {
  const v = fraction * dim;
  let r = Math.floor(v);
  const frac = v - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  return Math.min(dim, Math.max(1, r));
}

/** Eigen-decomposes the accumulated covariance and keeps k axes. Signs fixed so each axis's
 *  largest-|·| coordinate is positive (deterministic, like sklearn's svd_flip). */
export function pcaFromCovariance(acc: CovarianceAccumulator, k: number): Pca {
  const d = acc.dim;
  const { mean, cov } = acc.finish();
  const { values, vectors } = symmetricEigen(cov, d);
  let total = 0;
  for (let i = 0; i < d; i++) total += cov[i * d + i]!;
  const basis = new Float32Array(k * d);
  for (let r = 0; r < k; r++) {
    let best = 0;
    for (let j = 1; j < d; j++) if (Math.abs(vectors[r * d + j]!) > Math.abs(vectors[r * d + best]!)) best = j;
    const sgn = vectors[r * d + best]! < 0 ? -1 : 1;
    for (let j = 0; j < d; j++) basis[r * d + j] = sgn * vectors[r * d + j]!;
  }
  const variances = Float64Array.from(values.subarray(0, k), (v) => Math.max(0, v));
  return { dim: d, k, mean: Float32Array.from(mean), basis, variances, totalVariance: total, samples: acc.n };
}

/** Fits on batches produced one at a time (each [rows, d] fp32). */
export async function fitPca(batches: AsyncIterable<Float32Array> | Iterable<Float32Array>, dim: number, k: number): Promise<Pca> {
  const acc = new CovarianceAccumulator(dim);
  for await (const b of batches) await acc.add(b, b.length / dim);
  return pcaFromCovariance(acc, k);
}

/** x [rows, d] → y = (x − mean)·basisᵀ [rows, k] (computed as x·basisᵀ − basis·mean). */
export async function pcaProject(p: Pca, x: Float32Array, rows: number, gemm: Gemm = linearF32): Promise<Float32Array> {
  const y = await gemm(x, p.basis, rows, p.dim, p.k);
  const off = new Float64Array(p.k);
  for (let r = 0; r < p.k; r++) {
    let s = 0;
    for (let j = 0; j < p.dim; j++) s += p.basis[r * p.dim + j]! * p.mean[j]!;
    off[r] = s;
  }
  const out = new Float32Array(y.length);
  for (let i = 0; i < rows; i++) for (let r = 0; r < p.k; r++) out[i * p.k + r] = y[i * p.k + r]! - off[r]!;
  return out;
}

/** y [rows, k] → x̂ = y·basis + mean [rows, d]. basis [k, d], mean [d]. */
export async function pcaReconstruct(basis: Float32Array, mean: Float32Array, y: Float32Array, rows: number, k: number, dim: number): Promise<Float32Array> {
  const bt = new Float32Array(dim * k); // basisᵀ [d, k]
  for (let r = 0; r < k; r++) for (let j = 0; j < dim; j++) bt[j * k + r] = basis[r * dim + j]!;
  const x = await linearF32(y, bt, rows, k, dim);
  for (let i = 0; i < rows; i++) for (let j = 0; j < dim; j++) x[i * dim + j]! += mean[j]!;
  return x;
}

/** Row batches of a [rows, d] matrix, as views (no copies). */
export function* rowBatches(x: Float32Array, dim: number, batchRows: number): Generator<Float32Array> {
  const rows = x.length / dim;
  for (let r = 0; r < rows; r += batchRows) yield x.subarray(r * dim, Math.min(rows, r + batchRows) * dim);
}
