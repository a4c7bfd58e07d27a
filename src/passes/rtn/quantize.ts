// Group-wise uniform affine quantizer (OmniQuant's `UniformAffineQuantizer` with clipping off), fp32 arithmetic
// exactly as torch does it: scale = clamp((max−min)/(2^B−1), 1e-5, 1e4), zero = round(−min/scale),
// q = clamp(round(w/scale)+zero, 0, 2^B−1), ŵ = (q−zero)·scale; round = half-to-even (torch.round).
// Symmetric: scale = max(|max|,|min|)/(2^(B−1)−1), zero = 2^(B−1)−1.

import { InputError } from "../../util/errors.js";

export interface QuantSpec {
  bits: number;
  /** Columns per group; -1 or 0 = the whole row. */
  groupSize: number;
  sym: boolean;
}

export interface GroupQuant {
  rows: number;
  cols: number;
  groupSize: number;
  /** [rows, cols] unsigned codes 0..2^B−1 */
  q: Uint8Array;
  /** [rows, cols/groupSize] */
  scale: Float32Array;
  /** [rows, cols/groupSize] integer zero points */
  zero: Float32Array;
}

const fr = Math.fround;

/** Round half to even, like torch.round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function effectiveGroup(cols: number, groupSize: number): number {
  return groupSize > 0 ? groupSize : cols;
}

export function checkGroup(name: string, cols: number, groupSize: number): void {
  if (groupSize > 0 && cols % groupSize !== 0) {
    throw new InputError(`${name}: group size ${groupSize} does not divide the input width ${cols} (choose a divisor of ${cols}, e.g. ${divisors(cols).join(", ")})`);
  }
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (const g of [16, 32, 64, 128, 256]) if (n % g === 0) out.push(g);
  return out.length > 0 ? out : [n];
}

/** Quantization parameters of one group, optionally with clip factors (LWC's σ(γ), σ(β)). */
export function groupParams(w: Float32Array, start: number, len: number, spec: QuantSpec, clipMax = 1, clipMin = 1): { scale: number; zero: number } {
  let mx = -Infinity;
  let mn = Infinity;
  for (let i = start; i < start + len; i++) {
    const v = w[i]!;
    if (v > mx) mx = v;
    if (v < mn) mn = v;
  }
  mx = fr(mx * clipMax);
  mn = fr(mn * clipMin);
  const qmax = 2 ** spec.bits - 1;
  if (spec.sym) {
    const absMax = Math.max(Math.abs(mx), Math.abs(mn));
    const half = 2 ** (spec.bits - 1) - 1;
    const scale = Math.min(Math.max(fr(absMax / half), 1e-5), 1e4);
    return { scale: fr(scale), zero: half };
  }
  const scale = fr(Math.min(Math.max(fr(fr(mx - mn) / qmax), fr(1e-5)), fr(1e4)));
  const zero = roundHalfEven(fr(-mn / scale));
  return { scale, zero };
}

/** w: [rows, cols] fp32 → codes, scales and zero points per (row, group). */
export function quantizeGroups(w: Float32Array, rows: number, cols: number, spec: QuantSpec): GroupQuant {
  const g = effectiveGroup(cols, spec.groupSize);
  const groups = cols / g;
  const q = new Uint8Array(rows * cols);
  const scale = new Float32Array(rows * groups);
  const zero = new Float32Array(rows * groups);
  const qmax = 2 ** spec.bits - 1;
  for (let r = 0; r < rows; r++) {
    for (let gi = 0; gi < groups; gi++) {
      const start = r * cols + gi * g;
      const p = groupParams(w, start, g, spec);
      scale[r * groups + gi] = p.scale;
      zero[r * groups + gi] = p.zero;
      for (let i = start; i < start + g; i++) {
        const v = roundHalfEven(fr(w[i]! / p.scale)) + p.zero;
        q[i] = v < 0 ? 0 : v > qmax ? qmax : v;
      }
    }
  }
  return { rows, cols, groupSize: g, q, scale, zero };
}

/** codes → fp32 weights ŵ = (q − zero)·scale : [rows, cols] */
export function dequantizeGroups(gq: GroupQuant): Float32Array {
  const { rows, cols, groupSize: g } = gq;
  const groups = cols / g;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = r * groups + Math.floor(c / g);
      out[r * cols + c] = fr((gq.q[r * cols + c]! - gq.zero[k]!) * gq.scale[k]!);
    }
  }
  return out;
}
