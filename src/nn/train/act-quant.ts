// Per-token dynamic asymmetric activation fake-quant (OmniQuant quantize/quantizer.py UniformAffineQuantizer,
// dynamic_method="per_token", no LWC), the building block LET's weight-activation mode needs (--abits 4|6|8).
// Not wired into the pass yet. Backward = torch autograd of the reference: round_ste on x/scale (gradient 1),
// zero point from plain .round() (no gradient), clamp masks inclusive, amax/amin route the scale's gradient to
// the row's max / min element (split evenly over ties).

import { roundHalfEven } from "../../passes/rtn/quantize.js";

const fr = Math.fround;

export interface ActQuantCache {
  T: number;
  C: number;
  /** [T·C] ∂x̂/∂scale per element; [T·C] 1 where the code was inside [0, qmax] */
  term: Float32Array;
  inRange: Uint8Array;
  /** per row: the scale clamp was active (no gradient), and the argmax/argmin columns with their tie counts */
  clamped: Uint8Array;
  rowMax: Float32Array;
  rowMin: Float32Array;
  qmax: number;
  x: Float32Array;
}

/** x: [T, C] → fake-quantized x̂ [T, C], one scale / zero point per row (token) */
export function actquant_forward(x: Float32Array, T: number, C: number, bits: number): { out: Float32Array; cache: ActQuantCache } {
  const qmax = 2 ** bits - 1;
  const out = new Float32Array(T * C);
  const term = new Float32Array(T * C);
  const inRange = new Uint8Array(T * C);
  const clamped = new Uint8Array(T);
  const rowMax = new Float32Array(T);
  const rowMin = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const o = t * C;
    let mx = -Infinity;
    let mn = Infinity;
    for (let i = 0; i < C; i++) {
      const v = x[o + i]!;
      if (v > mx) mx = v;
      if (v < mn) mn = v;
    }
    rowMax[t] = mx;
    rowMin[t] = mn;
    const raw = fr(fr(mx - mn) / qmax);
    clamped[t] = raw < 1e-5 || raw > 1e4 ? 1 : 0;
    const h = fr(Math.min(Math.max(raw, fr(1e-5)), fr(1e4)));
    const z = Math.min(Math.max(roundHalfEven(fr(-mn / h)), -1e4), 1e4);
    for (let i = o; i < o + C; i++) {
      const u = fr(x[i]! / h);
      const r = roundHalfEven(u);
      const q = r + z;
      if (q < 0) { out[i] = fr(-z * h); term[i] = -z; }
      else if (q > qmax) { out[i] = fr((qmax - z) * h); term[i] = qmax - z; }
      else { out[i] = fr((q - z) * h); term[i] = r - u; inRange[i] = 1; }
    }
  }
  return { out, cache: { T, C, term, inRange, clamped, rowMax, rowMin, qmax, x } };
}

/** dout: [T, C] → dx [T, C] */
export function actquant_backward(dout: Float32Array, c: ActQuantCache): Float32Array {
  const { T, C, x } = c;
  const dx = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    const o = t * C;
    let dh = 0;
    for (let i = o; i < o + C; i++) {
      if (c.inRange[i]) dx[i] = dout[i]!; // round_ste: ∂(round(x/h)·h)/∂x = 1 inside the clamp range
      dh += dout[i]! * c.term[i]!;
    }
    if (c.clamped[t]) continue;
    const dmx = dh / c.qmax;
    let nMax = 0;
    let nMin = 0;
    for (let i = o; i < o + C; i++) {
      if (x[i] === c.rowMax[t]) nMax++;
      if (x[i] === c.rowMin[t]) nMin++;
    }
    for (let i = o; i < o + C; i++) {
      if (x[i] === c.rowMax[t]) dx[i] = dx[i]! + dmx / nMax;
      if (x[i] === c.rowMin[t]) dx[i] = dx[i]! - dmx / nMin;
    }
  }
  return dx;
}
