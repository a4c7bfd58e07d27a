// Shared pieces of the GPU tests: one CudaOps per test file (or a skip reason when this machine has no usable GPU),
// seeded random inputs (never zeros), and error metrics against the CPU oracle.

import assert from "node:assert/strict";
import { probeCuda } from "../../src/runtime/cuda/probe.js";
import type { CudaOps } from "../../src/runtime/cuda/ops.js";

const report = probeCuda();
/** false when a GPU is usable, else the skip message node:test prints. */
export const noGpu: string | false = report.ok ? false : `no usable GPU: ${report.reason}`;

let opsPromise: Promise<CudaOps> | undefined;
export function cudaOps(): Promise<CudaOps> {
  opsPromise ??= import("../../src/runtime/cuda/index.js").then((m) => m.openCudaOps());
  return opsPromise;
}

/** mulberry32 → N(0, σ²) by Box–Muller; a fresh seed per test, printed in failures. */
export function randn(n: number, seed: number, sigma = 1): Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = sigma * Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
  return out;
}

export function randInts(n: number, max: number, seed: number): Int32Array {
  const r = randn(n, seed);
  return Int32Array.from(r, (x, i) => Math.abs(Math.floor(x * 7919 + i * 104729)) % max);
}

export const seed = () => (Date.now() ^ (Math.random() * 2 ** 31)) >>> 0;

export interface Err {
  maxAbs: number;
  /** max |got − want| / max |want| */
  relMax: number;
  /** ‖got − want‖ / ‖want‖ */
  relL2: number;
}

export function compare(got: Float32Array, want: Float32Array | Float64Array): Err {
  assert.equal(got.length, want.length, "length");
  let maxAbs = 0;
  let maxRef = 0;
  let num = 0;
  let den = 0;
  for (let i = 0; i < got.length; i++) {
    const d = got[i]! - want[i]!;
    if (!Number.isFinite(got[i]!)) return { maxAbs: Infinity, relMax: Infinity, relL2: Infinity };
    maxAbs = Math.max(maxAbs, Math.abs(d));
    maxRef = Math.max(maxRef, Math.abs(want[i]!));
    num += d * d;
    den += want[i]! * want[i]!;
  }
  return { maxAbs, relMax: maxAbs / (maxRef || 1), relL2: Math.sqrt(num / (den || 1)) };
}

export const fmtErr = (e: Err) => `maxAbs ${e.maxAbs.toExponential(2)} relMax ${e.relMax.toExponential(2)} relL2 ${e.relL2.toExponential(2)}`;

/** Collected per-op errors; the last test in a file prints them (and bench/logs keep them). */
export const measured: Array<{ op: string; seed: number; err: string }> = [];
