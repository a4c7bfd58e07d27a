// A quantized Linear as memc's quantizers produce it, and re-expressing its codes in another format's
// zero-point convention without changing a single dequantized value (ŵ = (q − z)·s per group).

import { InputError } from "../../util/errors.js";
import type { GroupQuant } from "../../passes/rtn/quantize.js";

/** memc's group quantization of one weight W [rows=N out, cols=K in]:
 *  q [N, K] codes 0..2^b−1, scale/zero [N, K/groupSize] (zero an integer, possibly outside 0..2^b−1). */
export interface QuantLinear extends GroupQuant {
  bits: number;
  sym: boolean;
}

/** Codes and integer zero points after a per-group shift k: q' = q + k, z' = z + k (same ŵ). */
export interface ShiftedCodes {
  q: Uint8Array;
  /** [N, G] */
  zero: Int32Array;
}

/** Where a group cannot be represented: its row, group and zero. */
export class Unrepresentable extends InputError {
  constructor(readonly what: string, readonly row: number, readonly group: number, readonly zero: number, reason = "no shift keeps codes and zero in range") {
    super(`${what}: row ${row} group ${group}: zero point ${zero} cannot be stored (${reason})`);
  }
}

/** Shifts each group so its zero lands in [zMin, zMax] (or exactly on `fixedZero`) with every code kept in
 *  0..2^b−1; throws Unrepresentable when no shift works. */
export function shiftZeros(ql: QuantLinear, zMin: number, zMax: number, what: string, fixedZero?: number): ShiftedCodes {
  const { rows, cols, groupSize: g, bits } = ql;
  const G = cols / g;
  const qmax = 2 ** bits - 1;
  const q = new Uint8Array(rows * cols);
  const zero = new Int32Array(rows * G);
  for (let r = 0; r < rows; r++) {
    for (let gi = 0; gi < G; gi++) {
      const z = ql.zero[r * G + gi]!;
      if (!Number.isInteger(z)) throw new Unrepresentable(what, r, gi, z);
      let lo = 255;
      let hi = 0;
      const s = r * cols + gi * g;
      for (let i = s; i < s + g; i++) {
        const v = ql.q[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      // allowed shifts: codes stay in [0, qmax], zero lands in the target range
      let kMin = Math.max(-lo, zMin - z);
      let kMax = Math.min(qmax - hi, zMax - z);
      if (fixedZero !== undefined) {
        kMin = Math.max(kMin, fixedZero - z);
        kMax = Math.min(kMax, fixedZero - z);
      }
      if (kMin > kMax) throw new Unrepresentable(what, r, gi, z);
      const k = kMin <= 0 && 0 <= kMax ? 0 : kMin > 0 ? kMin : kMax;
      zero[r * G + gi] = z + k;
      for (let i = s; i < s + g; i++) q[i] = ql.q[i]! + k;
    }
  }
  return { q, zero };
}

/** Dequantizes codes with per-group integer zeros and fp32 scales: [N, K] = fr((q − z)·s). */
export function dequantShifted(q: Uint8Array, zero: ArrayLike<number>, scale: Float32Array, rows: number, cols: number, groupSize: number): Float32Array {
  const G = cols / groupSize;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const k = r * G + Math.floor(c / groupSize);
      out[r * cols + c] = Math.fround((q[r * cols + c]! - zero[k]!) * scale[k]!);
    }
  }
  return out;
}
