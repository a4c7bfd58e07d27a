// The CPU compute engine: cached onnxruntime sessions for GEMM, attention and fused lm_head+NLL.
// Precision: plain fp32 MLAS kernels; no graph-level fusions that lower precision.

import ort from "onnxruntime-node";
import { attentionGraph, linearGraph, matmulGraph, nllGraph, swigluGraph } from "./ort-graphs.js";

type Session = ort.InferenceSession;

const sessions = new Map<string, Promise<Session>>();

function threads(): number {
  const env = Number(process.env.MEMC_CPU_THREADS);
  return Number.isInteger(env) && env > 0 ? env : 0; // 0 = onnxruntime's default (all cores)
}

function session(key: string, build: () => Uint8Array): Promise<Session> {
  let s = sessions.get(key);
  if (!s) {
    s = ort.InferenceSession.create(build(), { intraOpNumThreads: threads(), interOpNumThreads: 1, graphOptimizationLevel: "basic" });
    sessions.set(key, s);
  }
  return s;
}

const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor("float32", data, dims);

/** x [M, K] · w[N, K]ᵀ → [M, N] */
export async function linearF32(x: Float32Array, w: Float32Array, M: number, K: number, N: number): Promise<Float32Array> {
  const s = await session("linear", linearGraph);
  const r = await s.run({ x: f32(x, [M, K]), w: f32(w, [N, K]) });
  return r.y!.data as Float32Array;
}

/** a [B, M, K] · b [B, K, N] → [B, M, N] */
export async function matmulF32(a: Float32Array, b: Float32Array, B: number, M: number, K: number, N: number): Promise<Float32Array> {
  const s = await session("matmul", matmulGraph);
  const r = await s.run({ a: f32(a, [B, M, K]), b: f32(b, [B, K, N]) });
  return r.c!.data as Float32Array;
}

const masks = new Map<number, Float32Array>();
function causalMask(S: number): Float32Array {
  let m = masks.get(S);
  if (!m) {
    m = new Float32Array(S * S);
    for (let i = 0; i < S; i++) for (let j = i + 1; j < S; j++) m[i * S + j] = -Infinity;
    masks.set(S, m);
  }
  return m;
}

/** q, k, v: [H, S, Dh] (K/V expanded to H heads) → [H, S, Dh] causal attention */
export async function attentionF32(q: Float32Array, k: Float32Array, v: Float32Array, H: number, S: number, Dh: number): Promise<Float32Array> {
  const scale = 1 / Math.sqrt(Dh);
  const s = await session(`attention:${scale}`, () => attentionGraph(scale));
  const r = await s.run({ q: f32(q, [H, S, Dh]), k: f32(k, [H, S, Dh]), v: f32(v, [H, S, Dh]), mask: f32(causalMask(S), [S, S]) });
  return r.o!.data as Float32Array;
}

/** h [S, D], w [V, D], targets [S] → per-token NLL [S] */
export async function nllF32(h: Float32Array, w: Float32Array, targets: Int32Array, S: number, D: number, V: number): Promise<Float32Array> {
  const s = await session("nll", nllGraph);
  const t = new ort.Tensor("int64", BigInt64Array.from(targets, (x) => BigInt(x)), [S, 1]);
  const r = await s.run({ h: f32(h, [S, D]), w: f32(w, [V, D]), targets: t });
  return r.nll!.data as Float32Array;
}

/** silu(g) ⊙ u, elementwise over equal-length arrays */
export async function swigluF32(g: Float32Array, u: Float32Array): Promise<Float32Array> {
  const s = await session("swiglu", swigluGraph);
  const r = await s.run({ g: f32(g, [g.length]), u: f32(u, [u.length]) });
  return r.y!.data as Float32Array;
}

export async function releaseEngine(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  for (const s of all) await (await s).release();
}
