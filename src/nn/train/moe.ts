// Mixtral sparse MoE MLP forward/backward (transformers MixtralSparseMoeBlock): router logits = x·Wrᵀ (full precision),
// p = softmax over all E experts, keep the top-k, renormalise them to sum to 1, y = Σ_slots r·expert(x).
// Gradients reach the selected experts' weights and, through the renormalised routing weights, the input x.

import { gemm } from "./gemm.js";
import { linear_forward } from "./linear.js";
import { mlp_backward, mlp_forward, type MlpCache, type MlpWeights } from "./mlp.js";

export interface MoeCache {
  x: Float32Array;
  topK: number;
  /** [T, k] expert ids and renormalised weights */
  ids: Int32Array;
  r: Float32Array;
  /** per expert: token rows routed to it, the slot index of each, the expert's output [n, D] and its cache */
  perExpert: ({ rows: Int32Array; slots: Int32Array; out: Float32Array; cache: MlpCache } | undefined)[];
}

/** logits [T, E] → top-k ids and renormalised softmax weights (ties go to the lower index, as torch.topk on CPU) */
export function route(logits: Float32Array, T: number, E: number, k: number): { ids: Int32Array; r: Float32Array } {
  const ids = new Int32Array(T * k);
  const r = new Float32Array(T * k);
  const p = new Float64Array(E);
  for (let t = 0; t < T; t++) {
    let mx = -Infinity;
    for (let e = 0; e < E; e++) mx = Math.max(mx, logits[t * E + e]!);
    let sum = 0;
    for (let e = 0; e < E; e++) sum += p[e] = Math.exp(logits[t * E + e]! - mx);
    for (let e = 0; e < E; e++) p[e] = p[e]! / sum;
    const used = new Set<number>();
    let tot = 0;
    for (let s = 0; s < k; s++) {
      let best = -1;
      for (let e = 0; e < E; e++) if (!used.has(e) && (best < 0 || p[e]! > p[best]!)) best = e;
      used.add(best);
      ids[t * k + s] = best;
      tot += p[best]!;
    }
    for (let s = 0; s < k; s++) r[t * k + s] = p[ids[t * k + s]!]! / tot;
  }
  return { ids, r };
}

function gatherRows(x: Float32Array, rows: Int32Array, D: number): Float32Array {
  const out = new Float32Array(rows.length * D);
  for (let i = 0; i < rows.length; i++) out.set(x.subarray(rows[i]! * D, rows[i]! * D + D), i * D);
  return out;
}

/** x: [T, D], router [E, D], experts (gate/up [F, D], down [D, F]) → [T, D] */
export async function moe_forward(x: Float32Array, router: Float32Array, experts: MlpWeights[], T: number, D: number, F: number, topK: number): Promise<{ out: Float32Array; cache: MoeCache }> {
  const E = experts.length;
  const logits = await linear_forward(x, router, T, D, E);
  const { ids, r } = route(logits, T, E, topK);
  const out = new Float32Array(T * D);
  const perExpert: MoeCache["perExpert"] = [];
  for (let e = 0; e < E; e++) {
    const rows: number[] = [];
    const slots: number[] = [];
    for (let i = 0; i < T * topK; i++) if (ids[i] === e) { rows.push(Math.floor(i / topK)); slots.push(i % topK); }
    if (rows.length === 0) { perExpert.push(undefined); continue; }
    const rr = Int32Array.from(rows);
    const ss = Int32Array.from(slots);
    const res = await mlp_forward(gatherRows(x, rr, D), experts[e]!, rr.length, D, F);
    for (let i = 0; i < rr.length; i++) {
      const w = r[rr[i]! * topK + ss[i]!]!;
      const o = rr[i]! * D;
      for (let j = 0; j < D; j++) out[o + j] = out[o + j]! + w * res.out[i * D + j]!;
    }
    perExpert.push({ rows: rr, slots: ss, out: res.out, cache: res.cache });
  }
  return { out, cache: { x, topK, ids, r, perExpert } };
}

/** dout: [T, D] → dx [T, D] (experts + routing path), expert weight grads (undefined where no token was routed) */
export async function moe_backward(dout: Float32Array, c: MoeCache, router: Float32Array, experts: MlpWeights[], T: number, D: number, F: number): Promise<{ dx: Float32Array; dw: (MlpWeights | undefined)[] }> {
  const E = experts.length;
  const k = c.topK;
  const dx = new Float32Array(T * D);
  const dr = new Float32Array(T * k); // dL/d(renormalised routing weight)
  const dw: (MlpWeights | undefined)[] = [];
  for (let e = 0; e < E; e++) {
    const pe = c.perExpert[e];
    if (!pe) { dw.push(undefined); continue; }
    const n = pe.rows.length;
    const dOut = new Float32Array(n * D);
    for (let i = 0; i < n; i++) {
      const slot = pe.rows[i]! * k + pe.slots[i]!;
      const w = c.r[slot]!;
      const o = pe.rows[i]! * D;
      let dot = 0;
      for (let j = 0; j < D; j++) {
        dOut[i * D + j] = w * dout[o + j]!;
        dot += dout[o + j]! * pe.out[i * D + j]!;
      }
      dr[slot] = dot;
    }
    const res = await mlp_backward(dOut, pe.cache, experts[e]!, n, D, F);
    for (let i = 0; i < n; i++) {
      const o = pe.rows[i]! * D;
      for (let j = 0; j < D; j++) dx[o + j] = dx[o + j]! + res.dx[i * D + j]!;
    }
    dw.push(res.dw);
  }
  // r = softmax over the selected logits: dlogit_s = r_s (dr_s − Σ r·dr); unselected logits get 0
  const dlogits = new Float32Array(T * E);
  for (let t = 0; t < T; t++) {
    let dot = 0;
    for (let s = 0; s < k; s++) dot += c.r[t * k + s]! * dr[t * k + s]!;
    for (let s = 0; s < k; s++) dlogits[t * E + c.ids[t * k + s]!] = c.r[t * k + s]! * (dr[t * k + s]! - dot);
  }
  const dxr = await gemm(dlogits, router, T, E, D); // [T, E]·[E, D]
  for (let i = 0; i < dx.length; i++) dx[i] = dx[i]! + dxr[i]!;
  return { dx, dw };
}
