// Reference MoE routing and row movement: softmax top-k (transformers' Mixtral order), gather and scatter-add rows.

import type { RoutingResult } from "../../ops.js";

/** logits [S, E] → per token the k experts of highest softmax probability, weights renormalised when asked. */
export function route(logits: Float32Array, S: number, E: number, k: number, renormalize: boolean): RoutingResult {
  const experts = new Int32Array(S * k);
  const weights = new Float32Array(S * k);
  const p = new Float64Array(E);
  for (let s = 0; s < S; s++) {
    let mx = -Infinity;
    for (let e = 0; e < E; e++) mx = Math.max(mx, logits[s * E + e]!);
    let sum = 0;
    for (let e = 0; e < E; e++) sum += p[e] = Math.exp(logits[s * E + e]! - mx);
    for (let e = 0; e < E; e++) p[e] = p[e]! / sum;
    const order = Array.from({ length: E }, (_, e) => e).sort((a, b) => p[b]! - p[a]! || a - b);
    let tot = 0;
    for (let j = 0; j < k; j++) tot += p[order[j]!]!;
    for (let j = 0; j < k; j++) {
      experts[s * k + j] = order[j]!;
      weights[s * k + j] = renormalize ? p[order[j]!]! / tot : p[order[j]!]!;
    }
  }
  return { experts, weights };
}

/** table [V, D], ids [S] → [S, D] */
export function embedding(table: Float32Array, D: number, ids: Int32Array): Float32Array {
  const out = new Float32Array(ids.length * D);
  for (let s = 0; s < ids.length; s++) out.set(table.subarray(ids[s]! * D, ids[s]! * D + D), s * D);
  return out;
}

/** x [S, D], rows [R] → [R, D] */
export function gatherRows(x: Float32Array, D: number, rows: Int32Array): Float32Array {
  return embedding(x, D, rows);
}

/** out[rows[r]] += scale[r] · y[r]  (in place) */
export function scatterAddRows(out: Float32Array, y: Float32Array, D: number, rows: Int32Array, scale: Float32Array): void {
  for (let r = 0; r < rows.length; r++) {
    const o = rows[r]! * D;
    const sc = scale[r]!;
    for (let d = 0; d < D; d++) out[o + d] = out[o + d]! + Math.fround(sc * y[r * D + d]!);
  }
}
