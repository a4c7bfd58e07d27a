// Causal grouped-query attention forward/backward (transformers LlamaAttention eager path: softmax(q·kᵀ/√Dh + causal)·v,
// kv head of query head h = ⌊h·KH/H⌋). Scores, P·V and all backward products are batched GEMMs over heads (gemm.ts);
// only softmax and the layout changes are JS loops.

import { bmm } from "./gemm.js";

export interface AttnCache {
  /** [H, T, Dh] head-major copies (k, v expanded to H heads) */
  qh: Float32Array;
  kh: Float32Array;
  vh: Float32Array;
  /** [H, T, T] softmax probabilities (0 above the diagonal) */
  p: Float32Array;
}

/** x: [T, NH·Dh] → [H, T, Dh], head h reading source head ⌊h·NH/H⌋ */
function toHeads(x: Float32Array, T: number, NH: number, H: number, Dh: number): Float32Array {
  const out = new Float32Array(H * T * Dh);
  for (let h = 0; h < H; h++) {
    const src = Math.floor((h * NH) / H);
    for (let t = 0; t < T; t++) out.set(x.subarray((t * NH + src) * Dh, (t * NH + src + 1) * Dh), (h * T + t) * Dh);
  }
  return out;
}

/** [H, T, Dh] → [T, NH·Dh], summing the H/NH heads that share a source head */
function fromHeads(x: Float32Array, T: number, NH: number, H: number, Dh: number): Float32Array {
  const out = new Float32Array(T * NH * Dh);
  for (let h = 0; h < H; h++) {
    const dst = Math.floor((h * NH) / H);
    for (let t = 0; t < T; t++) {
      const o = (t * NH + dst) * Dh;
      const s = (h * T + t) * Dh;
      for (let i = 0; i < Dh; i++) out[o + i] = out[o + i]! + x[s + i]!;
    }
  }
  return out;
}

/** q: [T, H·Dh], k, v: [T, KH·Dh] (RoPE already applied) → out [T, H·Dh] */
export async function attention_forward(
  q: Float32Array, k: Float32Array, v: Float32Array, T: number, H: number, KH: number, Dh: number,
): Promise<{ out: Float32Array; cache: AttnCache }> {
  const qh = toHeads(q, T, H, H, Dh);
  const kh = toHeads(k, T, KH, H, Dh);
  const vh = toHeads(v, T, KH, H, Dh);
  const p = await bmm(qh, kh, H, T, Dh, T, false, true); // [H, T, T] scores
  const scale = 1 / Math.sqrt(Dh);
  for (let r = 0; r < H * T; r++) {
    const t = r % T;
    const o = r * T;
    let mx = -Infinity;
    for (let j = 0; j <= t; j++) {
      const s = p[o + j]! * scale;
      p[o + j] = s;
      if (s > mx) mx = s;
    }
    let sum = 0;
    for (let j = 0; j <= t; j++) {
      const e = Math.exp(p[o + j]! - mx);
      p[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j <= t; j++) p[o + j] = p[o + j]! * inv;
    p.fill(0, o + t + 1, o + T);
  }
  const oh = await bmm(p, vh, H, T, T, Dh); // [H, T, Dh]
  return { out: fromHeads(oh, T, H, H, Dh), cache: { qh, kh, vh, p } };
}

/** dout: [T, H·Dh] → dq [T, H·Dh], dk, dv [T, KH·Dh] */
export async function attention_backward(
  dout: Float32Array, c: AttnCache, T: number, H: number, KH: number, Dh: number,
): Promise<{ dq: Float32Array; dk: Float32Array; dv: Float32Array }> {
  const doh = toHeads(dout, T, H, H, Dh);
  const dvh = await bmm(c.p, doh, H, T, T, Dh, true, false); // Pᵀ·dO
  const ds = await bmm(doh, c.vh, H, T, Dh, T, false, true); // dP = dO·Vᵀ → dS in place
  const scale = 1 / Math.sqrt(Dh);
  for (let r = 0; r < H * T; r++) {
    const t = r % T;
    const o = r * T;
    let dot = 0;
    for (let j = 0; j <= t; j++) dot += ds[o + j]! * c.p[o + j]!;
    for (let j = 0; j <= t; j++) ds[o + j] = c.p[o + j]! * (ds[o + j]! - dot) * scale;
    ds.fill(0, o + t + 1, o + T);
  }
  const dqh = await bmm(ds, c.kh, H, T, T, Dh); // dS·K
  const dkh = await bmm(ds, c.qh, H, T, T, Dh, true, false); // dSᵀ·Q
  return { dq: fromHeads(dqh, T, H, H, Dh), dk: fromHeads(dkh, T, KH, H, Dh), dv: fromHeads(dvh, T, KH, H, Dh) };
}
