// float8 storage of a [rows, cols] matrix with an optional scale: none (the paper's plain cast), one per
// tensor, or one per row. scale = absmax / max8 (max8 = 448 or 57344), values divided then cast, saturating.

import { decodeFloat8Array, encodeFloat8Array, float8Max, type Float8Format } from "../../runtime/float8.js";

export type ScaleMode = "none" | "tensor" | "row";
export const SCALE_MODES: readonly ScaleMode[] = ["none", "tensor", "row"];

export interface Float8Matrix {
  format: Float8Format;
  scaleMode: ScaleMode;
  rows: number;
  cols: number;
  /** [rows, cols] u8 codes */
  codes: Uint8Array;
  /** none: [] · tensor: [1] · row: [rows] — fp32 multipliers applied on decode */
  scales: Float32Array;
}

function scaleFor(absmax: number, fmt: Float8Format): number {
  return absmax > 0 && Number.isFinite(absmax) ? Math.fround(absmax / float8Max(fmt)) : 1;
}

function absmaxOf(x: Float32Array, from = 0, to = x.length): number {
  let m = 0;
  for (let i = from; i < to; i++) {
    const a = Math.abs(x[i]!);
    if (a > m) m = a;
  }
  return m;
}

/** x [rows, cols] fp32 → codes [rows, cols] u8 + scales. `tensorScale` overrides the tensor absmax
 *  (streamed callers that encode batch by batch with one scale). */
export function quantizeFloat8(x: Float32Array, rows: number, cols: number, format: Float8Format, scaleMode: ScaleMode, tensorScale?: number): Float8Matrix {
  if (x.length !== rows * cols) throw new Error(`quantizeFloat8: ${x.length} values for [${rows}, ${cols}]`);
  const codes = new Uint8Array(rows * cols);
  let scales: Float32Array;
  if (scaleMode === "none") {
    scales = new Float32Array(0);
    encodeFloat8Array(x, format, 1, codes);
  } else if (scaleMode === "tensor") {
    const s = tensorScale ?? scaleFor(absmaxOf(x), format);
    scales = Float32Array.of(s);
    encodeFloat8Array(x, format, s, codes);
  } else {
    scales = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      const s = scaleFor(absmaxOf(x, r * cols, (r + 1) * cols), format);
      scales[r] = s;
      encodeFloat8Array(x.subarray(r * cols, (r + 1) * cols), format, s, codes.subarray(r * cols, (r + 1) * cols));
    }
  }
  return { format, scaleMode, rows, cols, codes, scales };
}

/** Tensor scale for a whole matrix processed in pieces: absmax over all of them / max8. */
export function tensorScaleOf(absmax: number, format: Float8Format): number {
  return scaleFor(absmax, format);
}

export { absmaxOf };

/** codes [rows, cols] + scales → fp32 [rows, cols] */
export function dequantizeFloat8(m: Float8Matrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  if (m.scaleMode === "row") {
    for (let r = 0; r < m.rows; r++) {
      const sl = m.codes.subarray(r * m.cols, (r + 1) * m.cols);
      decodeFloat8Array(sl, m.format, m.scales[r]!, out.subarray(r * m.cols, (r + 1) * m.cols));
    }
  } else {
    decodeFloat8Array(m.codes, m.format, m.scaleMode === "tensor" ? m.scales[0]! : 1, out);
  }
  return out;
}
