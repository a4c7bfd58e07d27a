// ggml block formats (ggml-common.h / ggml-quants.c reference quantizers), blocks of 32 along a row:
// Q8_0 {f16 d; i8 qs[32]} x = q·d · Q4_0 {f16 d; u8 qs[16]} x = (q − 8)·d · Q4_1 {f16 d, m; u8 qs[16]} x = q·d + m.
// Nibbles pair element j (low) with element j + 16 (high). Arithmetic in fp32 as the C code does it.

import { f16ToF32, f32ToF16 } from "../../runtime/dtypes.js";
import { InputError } from "../../util/errors.js";

export type GgmlType = "F32" | "F16" | "Q4_0" | "Q4_1" | "Q8_0";
export const GGML_TYPE_ID: Record<GgmlType, number> = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 8 };
export const QK = 32;
/** bytes per block of 32 (per element for F32/F16) */
export const BLOCK_BYTES: Record<GgmlType, number> = { F32: 4, F16: 2, Q4_0: 18, Q4_1: 20, Q8_0: 34 };

const fr = Math.fround;
/** C's roundf: half away from zero */
const roundf = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x));
/** C's (int8_t) cast of a float: truncation toward zero */
const trunc = (x: number) => Math.trunc(x);

export function rowBytes(type: GgmlType, n: number): number {
  if (type === "F32" || type === "F16") return n * BLOCK_BYTES[type];
  if (n % QK !== 0) throw new InputError(`${type}: row length ${n} is not a multiple of ${QK}`);
  return (n / QK) * BLOCK_BYTES[type];
}

/** x [n] fp32 → one row of `type` blocks (reference quantizers). */
export function quantizeRow(type: GgmlType, x: Float32Array): Uint8Array {
  const n = x.length;
  const out = new Uint8Array(rowBytes(type, n));
  const dv = new DataView(out.buffer);
  if (type === "F32") return new Uint8Array(Float32Array.from(x).buffer);
  if (type === "F16") {
    for (let i = 0; i < n; i++) dv.setUint16(2 * i, f32ToF16(x[i]!), true);
    return out;
  }
  for (let b = 0; b < n / QK; b++) {
    const o = b * BLOCK_BYTES[type];
    const xs = x.subarray(b * QK, b * QK + QK);
    if (type === "Q8_0") {
      let amax = 0;
      for (const v of xs) amax = Math.max(amax, Math.abs(v));
      const d = fr(amax / 127);
      const id = d ? fr(1 / d) : 0;
      dv.setUint16(o, f32ToF16(d), true);
      for (let j = 0; j < QK; j++) dv.setInt8(o + 2 + j, roundf(fr(xs[j]! * id)));
    } else if (type === "Q4_0") {
      let amax = 0;
      let max = 0;
      for (const v of xs) if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
      const d = fr(max / -8);
      const id = d ? fr(1 / d) : 0;
      dv.setUint16(o, f32ToF16(d), true);
      for (let j = 0; j < QK / 2; j++) {
        const q0 = Math.min(15, trunc(fr(fr(xs[j]! * id) + 8.5)));
        const q1 = Math.min(15, trunc(fr(fr(xs[j + 16]! * id) + 8.5)));
        out[o + 2 + j] = q0 | (q1 << 4);
      }
    } else {
      let min = Infinity;
      let max = -Infinity;
      for (const v of xs) { min = Math.min(min, v); max = Math.max(max, v); }
      const d = fr(fr(max - min) / 15);
      const id = d ? fr(1 / d) : 0;
      dv.setUint16(o, f32ToF16(d), true);
      dv.setUint16(o + 2, f32ToF16(min), true);
      for (let j = 0; j < QK / 2; j++) {
        const q0 = Math.min(15, trunc(fr(fr(fr(xs[j]! - min) * id) + 0.5)));
        const q1 = Math.min(15, trunc(fr(fr(fr(xs[j + 16]! - min) * id) + 0.5)));
        out[o + 4 + j] = q0 | (q1 << 4);
      }
    }
  }
  return out;
}

/** One row of `type` blocks → fp32 [n] (ggml's dequantize_row_*). */
export function dequantizeRow(type: GgmlType, bytes: Uint8Array, n: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const y = new Float32Array(n);
  if (type === "F32") return new Float32Array(bytes.slice(0, 4 * n).buffer);
  if (type === "F16") {
    for (let i = 0; i < n; i++) y[i] = f16ToF32(dv.getUint16(2 * i, true));
    return y;
  }
  for (let b = 0; b < n / QK; b++) {
    const o = b * BLOCK_BYTES[type];
    const d = f16ToF32(dv.getUint16(o, true));
    if (type === "Q8_0") {
      for (let j = 0; j < QK; j++) y[b * QK + j] = fr(dv.getInt8(o + 2 + j) * d);
    } else {
      const m = type === "Q4_1" ? f16ToF32(dv.getUint16(o + 2, true)) : 0;
      const qs = o + (type === "Q4_1" ? 4 : 2);
      for (let j = 0; j < QK / 2; j++) {
        const lo = bytes[qs + j]! & 0xf;
        const hi = bytes[qs + j]! >> 4;
        y[b * QK + j] = type === "Q4_0" ? fr((lo - 8) * d) : fr(fr(lo * d) + m);
        y[b * QK + j + 16] = type === "Q4_0" ? fr((hi - 8) * d) : fr(fr(hi * d) + m);
      }
    }
  }
  return y;
}

/** Block-exact encodings of memc codes (group 32): Q4_1 with d = s, m = −z·s; Q4_0 for zero 8; Q8_0 for
 *  signed 8-bit codes. q [n] codes, scale/zero per block of 32. d and m are rounded to f16 — the only change. */
export function encodeCodes(type: "Q4_0" | "Q4_1" | "Q8_0", q: Uint8Array, scale: ArrayLike<number>, zero: ArrayLike<number>): Uint8Array {
  const n = q.length;
  const out = new Uint8Array(rowBytes(type, n));
  const dv = new DataView(out.buffer);
  for (let b = 0; b < n / QK; b++) {
    const o = b * BLOCK_BYTES[type];
    const s = scale[b]!;
    const z = zero[b]!;
    dv.setUint16(o, f32ToF16(s), true);
    if (type === "Q8_0") {
      for (let j = 0; j < QK; j++) {
        const v = q[b * QK + j]! - z;
        if (v < -128 || v > 127) throw new InputError(`Q8_0: code ${q[b * QK + j]} − zero ${z} does not fit int8 (block ${b})`);
        dv.setInt8(o + 2 + j, v);
      }
      continue;
    }
    if (type === "Q4_0" && z !== 8) throw new InputError(`Q4_0 needs zero point 8, block ${b} has ${z}`);
    if (type === "Q4_1") dv.setUint16(o + 2, f32ToF16(fr(-z * s)), true);
    const qs = o + (type === "Q4_1" ? 4 : 2);
    for (let j = 0; j < QK / 2; j++) out[qs + j] = q[b * QK + j]! | (q[b * QK + j + 16]! << 4);
  }
  return out;
}
