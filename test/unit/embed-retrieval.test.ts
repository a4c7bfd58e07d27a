// Retrieval metrics: hand-worked recall@k / nDCG@k, and the GEMM-based cosine top-k against a naive
// double loop on random vectors.

import { test } from "node:test";
import assert from "node:assert/strict";
import { cosineTopK, ndcgAtK, recallAtK } from "../../src/eval/retrieval.js";

test("recall@k and nDCG@k on hand-worked rankings", () => {
  const truth = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]); // 2 queries, k = 4
  const got = Int32Array.from([1, 2, 3, 4, 9, 9, 7, 6]);
  // q0: perfect; q1: relevant {5,6,7,8}, got [9,9,7,6] → hits at ranks 3 and 4
  assert.equal(recallAtK(truth, got, 2, 4), (1 + 0.5) / 2);
  const ideal = 1 + 1 / Math.log2(3) + 1 / Math.log2(4) + 1 / Math.log2(5);
  const q1 = (1 / Math.log2(4) + 1 / Math.log2(5)) / ideal;
  assert.ok(Math.abs(ndcgAtK(truth, got, 2, 4) - (1 + q1) / 2) < 1e-12);
  // order inside the top-k matters for nDCG, not for recall
  const swapped = Int32Array.from([4, 3, 2, 1, 5, 6, 7, 8]);
  assert.equal(recallAtK(truth, swapped, 2, 4), 1);
  assert.ok(Math.abs(ndcgAtK(truth, swapped, 2, 4) - 1) < 1e-12); // all relevant → still ideal
});

test("cosineTopK equals a naive cosine scan (with self-exclusion)", async () => {
  let s = 99;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
  const n = 700, d = 20, nq = 13, k = 10;
  const c = Float32Array.from({ length: n * d }, rnd);
  const qrows = Array.from({ length: nq }, (_, i) => i * 37);
  const q = new Float32Array(nq * d);
  qrows.forEach((r, i) => q.set(c.subarray(r * d, (r + 1) * d), i * d));
  const got = await cosineTopK(q, nq, c, n, d, k, (qi, ci) => ci === qrows[qi]);
  for (let i = 0; i < nq; i++) {
    const sc: { id: number; v: number }[] = [];
    for (let j = 0; j < n; j++) {
      if (j === qrows[i]) continue;
      let dot = 0, a = 0, b = 0;
      for (let t = 0; t < d; t++) { dot += q[i * d + t]! * c[j * d + t]!; a += q[i * d + t]! ** 2; b += c[j * d + t]! ** 2; }
      sc.push({ id: j, v: dot / Math.sqrt(a * b) });
    }
    sc.sort((x, y) => y.v - x.v || x.id - y.id);
    assert.deepEqual([...got.subarray(i * k, (i + 1) * k)], sc.slice(0, k).map((e) => e.id), `query ${i}`);
  }
});
