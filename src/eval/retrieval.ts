// Retrieval agreement of compressed vectors with the uncompressed ones: exact cosine top-k (brute force,
// onnxruntime GEMM in corpus chunks), recall@k and nDCG@k with the uncompressed top-k as the relevant set.

import { linearF32 } from "../runtime/cpu/engine/ort-engine.js";

const CHUNK_ROWS = 32768;

/** x [rows, d] → unit-norm rows (zero rows stay zero). */
export function normalizeRows(x: Float32Array, rows: number, d: number): Float32Array {
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[r * d + j]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) out[r * d + j] = x[r * d + j]! * inv;
  }
  return out;
}

/** Corpus rows [start, start+count) as fp32 [count, d]: lets the search stream over stores larger than memory. */
export type RowReader = (start: number, count: number) => Promise<Float32Array> | Float32Array;

/** Top-k corpus rows by cosine for each query: q [nq, d], corpus [n, d] (array or reader) → ids [nq, k]
 *  (best first; equal scores by lower id; zero vectors score 0). `exclude(qi, ci)` drops pairs (e.g. a query's own row). */
export async function cosineTopK(
  q: Float32Array, nq: number, corpus: Float32Array | RowReader, n: number, d: number, k: number,
  exclude?: (qi: number, ci: number) => boolean,
): Promise<Int32Array> {
  const qn = normalizeRows(q, nq, d);
  const ids = new Int32Array(nq * k).fill(-1);
  const best = new Float64Array(nq * k).fill(-Infinity);
  for (let c0 = 0; c0 < n; c0 += CHUNK_ROWS) {
    const m = Math.min(CHUNK_ROWS, n - c0);
    const chunk = typeof corpus === "function" ? await corpus(c0, m) : corpus.subarray(c0 * d, (c0 + m) * d);
    const cn = normalizeRows(chunk, m, d);
    const s = await linearF32(qn, cn, nq, d, m); // [nq, m]
    for (let i = 0; i < nq; i++) {
      const base = i * k;
      for (let j = 0; j < m; j++) {
        const v = s[i * m + j]!;
        if (v <= best[base + k - 1]!) continue; // strict: an earlier (lower) id wins ties
        const cid = c0 + j;
        if (exclude?.(i, cid)) continue;
        let p = k - 1;
        while (p > 0 && best[base + p - 1]! < v) {
          best[base + p] = best[base + p - 1]!;
          ids[base + p] = ids[base + p - 1]!;
          p--;
        }
        best[base + p] = v;
        ids[base + p] = cid;
      }
    }
  }
  return ids;
}

/** Mean over queries of |got@k ∩ truth@k| / k. truth, got: [nq, k] ids. */
export function recallAtK(truth: Int32Array, got: Int32Array, nq: number, k: number): number {
  let sum = 0;
  for (let i = 0; i < nq; i++) {
    const t = new Set(truth.subarray(i * k, (i + 1) * k));
    let hit = 0;
    for (let j = 0; j < k; j++) if (t.has(got[i * k + j]!)) hit++;
    sum += hit / k;
  }
  return sum / nq;
}

/** Mean nDCG@k with binary relevance (relevant = in the uncompressed top-k): Σ rel_j / log2(j+2) over
 *  the compressed ranking, divided by the ideal Σ_{j<k} 1/log2(j+2). */
export function ndcgAtK(truth: Int32Array, got: Int32Array, nq: number, k: number): number {
  let ideal = 0;
  for (let j = 0; j < k; j++) ideal += 1 / Math.log2(j + 2);
  let sum = 0;
  for (let i = 0; i < nq; i++) {
    const t = new Set(truth.subarray(i * k, (i + 1) * k));
    let dcg = 0;
    for (let j = 0; j < k; j++) if (t.has(got[i * k + j]!)) dcg += 1 / Math.log2(j + 2);
    sum += dcg / ideal;
  }
  return sum / nq;
}

export interface Agreement {
  k: number;
  queries: number;
  corpus: number;
  recall: number;
  ndcg: number;
}

/** Agreement of a compressed search (its own query/corpus vectors, any width) with the uncompressed one. */
export async function retrievalAgreement(
  truthIds: Int32Array, nq: number, k: number,
  cq: Float32Array, cCorpus: Float32Array | RowReader, n: number, dc: number,
  exclude?: (qi: number, ci: number) => boolean,
): Promise<Agreement> {
  const got = await cosineTopK(cq, nq, cCorpus, n, dc, k, exclude);
  return { k, queries: nq, corpus: n, recall: recallAtK(truthIds, got, nq, k), ndcg: ndcgAtK(truthIds, got, nq, k) };
}
