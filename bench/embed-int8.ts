// bench/embed-int8: the paper's int8 baseline (sentence-transformers quantize_embeddings "uint8": per-dimension
// min/max from a calibration set — here the store itself — 256 levels) on the same stores and queries as
// bench/embed-table, for the "PCA 50% + float8 beats int8" claim. Retrieval agreement only.
// Usage: node dist/bench/embed-int8.js STORE[.npy|.safetensors:TENSOR] ...

import { cosineTopK, ndcgAtK, recallAtK } from "../src/eval/retrieval.js";
import { loadVectors, sampleRows } from "../src/passes/embed/vectors.js";

/** x [n, d] → dequantized uint8 codes, ranges per dimension from x itself. */
function uint8RoundTrip(x: Float32Array, n: number, d: number): Float32Array {
  const lo = new Float32Array(d).fill(Infinity), hi = new Float32Array(d).fill(-Infinity);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) { const v = x[i * d + j]!; if (v < lo[j]!) lo[j] = v; if (v > hi[j]!) hi[j] = v; }
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const step = (hi[j]! - lo[j]!) / 255 || 1;
      const q = Math.min(255, Math.max(0, Math.round((x[i * d + j]! - lo[j]!) / step)));
      out[i * d + j] = lo[j]! + q * step;
    }
  }
  return out;
}

for (const spec of process.argv.slice(2)) {
  const [path, tensor] = spec.split(":");
  const v = await loadVectors(path!, tensor);
  const { x, rows: n, dim: d } = v;
  const nq = Math.max(1, Math.min(1000, Math.floor(n / 10)));
  const ids = sampleRows(n, nq, 0); // same sample as `memc embed` with --seed 0
  const q = new Float32Array(nq * d);
  ids.forEach((r, i) => q.set(x.subarray(r * d, (r + 1) * d), i * d));
  const exclude = (qi: number, ci: number) => ids[qi] === ci;
  const truth = await cosineTopK(q, nq, x, n, d, 10, exclude);
  const xq = uint8RoundTrip(x, n, d);
  const qq = new Float32Array(nq * d);
  ids.forEach((r, i) => qq.set(xq.subarray(r * d, (r + 1) * d), i * d));
  const got = await cosineTopK(qq, nq, xq, n, d, 10, exclude);
  const bytes = n * d + 2 * d * 4;
  console.log(JSON.stringify({ kind: "retrieval", store: spec, config: "int8 (uint8, per-dim min/max)", rows: n, dim: d, ratioVsFp32: (n * d * 4) / bytes, recall: recallAtK(truth, got, nq, 10), ndcg: ndcgAtK(truth, got, nq, 10) }));
}
