// Recovering integer codes from a fake-quant checkpoint (dequantized weights ŵ = m·s per group, m integer):
// per group, find the largest scale s whose grid holds every ŵ exactly (s = |ŵ_max|/m for the smallest m that
// fits), so any group-affine quantizer's output (RTN, OmniQuant/LWC) is recovered, then pick zero points.

import { fromF32, toF32 } from "../../runtime/convert.js";
import type { Dtype } from "../../model/safetensors/dtypes.js";
import { InputError } from "../../util/errors.js";
import type { PackScheme } from "./config.js";
import { dequantShifted, type QuantLinear } from "./qlinear.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../runtime/dtypes.js";

const f32b = new Float32Array(1);
const u32b = new Uint32Array(f32b.buffer);
/** x rounded to `dtype` and moved k units in its last place (positive x). */
function nudge(x: number, dtype: Dtype, k: number): number {
  if (dtype === "F16") return f16ToF32(f32ToF16(x) + k);
  if (dtype === "BF16") return bf16ToF32(f32ToBf16(x) + k);
  f32b[0] = x;
  u32b[0] = u32b[0]! + k;
  return f32b[0]!;
}
/** x as it reads back after storage in `dtype` */
function stored(x: number, dtype: Dtype): number {
  return dtype === "F16" ? f16ToF32(f32ToF16(x)) : dtype === "BF16" ? bf16ToF32(f32ToBf16(x)) : Math.fround(x);
}

/** Among the scale-dtype values next to `s`, the first whose grid reproduces the group's stored ŵ exactly. */
function snapScale(s: number, m: Int32Array, w: Float32Array, start: number, scaleDtype: Dtype, storedDtype: Dtype): number {
  for (const k of [0, -1, 1, -2, 2, -3, 3]) {
    const c = nudge(s, scaleDtype, k);
    let ok = true;
    for (let i = 0; i < m.length && ok; i++) if (stored(Math.fround(m[i]! * c), storedDtype) !== w[start + i]) ok = false;
    if (ok) return c;
  }
  return nudge(s, scaleDtype, 0);
}

/** fp32 scales rounded through a storage dtype (what a runtime will multiply by). */
export function roundScales(scale: Float32Array, dtype: Dtype): Float32Array {
  if (dtype === "F32") return Float32Array.from(scale);
  return toF32(fromF32(scale, dtype), dtype);
}

export interface CodeCheck {
  ql: QuantLinear;
  /** max |ŵ − (q − z)·s_stored| over the tensor (0 when the scales were already in the storage dtype) */
  maxAbsDiff: number;
  /** elements whose re-dequantized value differs from ŵ in ŵ's own dtype */
  changed: number;
}

const TOL = 1e-3;
/** Relative rounding error of the dtype ŵ was stored in (half an ulp). */
const REL: Partial<Record<Dtype, number>> = { F32: 2 ** -24, F16: 2 ** -11, BF16: 2 ** -8 };

/** One group's grid: scale and integer multiples m_i, or undefined when no b-bit grid holds the values.
 *  `rel`: ŵ was rounded to a dtype with this relative error, so ŵ/s may miss an integer by |m|·2·rel. */
function fitGroup(w: Float32Array, start: number, len: number, bits: number, rel: number): { scale: number; m: Int32Array } | undefined {
  let vmax = 0;
  for (let i = start; i < start + len; i++) vmax = Math.max(vmax, Math.abs(w[i]!));
  const m = new Int32Array(len);
  if (vmax === 0) return { scale: 1, m };
  const span = 2 ** bits - 1;
  for (let k = 1; k <= 2 ** bits; k++) {
    const s = Math.fround(vmax / k);
    let lo = Infinity;
    let hi = -Infinity;
    let ok = true;
    for (let i = 0; i < len && ok; i++) {
      const x = w[start + i]! / s;
      const r = Math.round(x);
      if (Math.abs(x - r) > TOL + 2 * rel * Math.abs(x)) ok = false;
      m[i] = r;
      lo = Math.min(lo, r);
      hi = Math.max(hi, r);
    }
    if (ok && hi - lo <= span) {
      if (rel <= 2 ** -24) return { scale: s, m };
      // ŵ was rounded: the least-squares scale of the recovered multiples is the best estimate of the true one
      let num = 0;
      let den = 0;
      for (let i = 0; i < len; i++) { num += m[i]! * w[start + i]!; den += m[i]! * m[i]!; }
      return { scale: Math.fround(num / den), m };
    }
  }
  return undefined;
}

/** ŵ [rows, cols] (read from `storedDtype`) → codes (zero = −min m, so codes start at 0) with scales rounded
 *  to `scaleDtype`, checked against ŵ. Throws naming the first group that lies on no b-bit grid. */
export function rederiveCodes(what: string, w: Float32Array, rows: number, cols: number, s: PackScheme, storedDtype: Dtype, scaleDtype: Dtype): CodeCheck {
  const g = s.groupSize > 0 ? s.groupSize : cols;
  const G = cols / g;
  const rel = REL[storedDtype] ?? 2 ** -24;
  if (2 * rel * 2 ** s.bits + TOL >= 0.5) {
    throw new InputError(`${what}: ${storedDtype} weights cannot hold ${s.bits}-bit codes exactly, so the codes cannot be recovered; quantize with a packed --format directly (or store fake-quant weights in F32)`);
  }
  const q = new Uint8Array(rows * cols);
  const scale = new Float32Array(rows * G);
  const zero = new Float32Array(rows * G);
  for (let r = 0; r < rows; r++) {
    for (let gi = 0; gi < G; gi++) {
      const start = r * cols + gi * g;
      const fit = fitGroup(w, start, g, s.bits, rel);
      if (!fit) {
        throw new InputError(
          `${what}: row ${r} group ${gi}: the weights lie on no ${s.bits}-bit grid of group ${g} — not a ${s.bits}-bit group-${g} fake-quant tensor (check --wbits/--group-size against the recipe)`,
        );
      }
      let lo = 0;
      for (const v of fit.m) lo = Math.min(lo, v);
      scale[r * G + gi] = fit.scale > 0 ? snapScale(fit.scale, fit.m, w, start, scaleDtype, storedDtype) : fit.scale;
      zero[r * G + gi] = -lo;
      for (let i = 0; i < g; i++) q[start + i] = fit.m[i]! - lo;
    }
  }
  const rounded = roundScales(scale, scaleDtype);
  const ql: QuantLinear = { rows, cols, groupSize: g, q, scale: rounded, zero, bits: s.bits, sym: s.sym };
  const back = dequantShifted(q, zero, rounded, rows, cols, g);
  let maxAbsDiff = 0;
  for (let i = 0; i < w.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(back[i]! - w[i]!));
  const a = fromF32(back, storedDtype);
  const b = fromF32(w, storedDtype);
  const width = storedDtype === "F32" ? 4 : 2;
  let changed = 0;
  for (let i = 0; i < a.length; i += width) {
    for (let j = 0; j < width; j++) if (a[i + j] !== b[i + j]) { changed++; break; }
  }
  return { ql, maxAbsDiff, changed };
}
