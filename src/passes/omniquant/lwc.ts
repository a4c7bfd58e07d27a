// Learnable weight clipping (OmniQuant quantize/quantizer.py, UniformAffineQuantizer with lwc=True):
// per (row, group) γ (upbound_factor), β (lowbound_factor), init 4.0; xmax' = σ(γ)·max, xmin' = σ(β)·min,
// h = clamp((xmax'−xmin')/(2^N−1), 1e-5, 1e4), z = round(clamp(−xmin'/h, ±1e4)), Ŵ = (clamp(round_ste(W/h)+z, 0, 2^N−1) − z)·h.
// Scale and zero point come from the RTN quantizer's groupParams (clip = 1 is RTN). The backward is torch autograd's:
// round_ste passes gradient straight through, z = plain .round() (zero gradient), clamps pass it where lo ≤ x ≤ hi.

import { effectiveGroup, groupParams, roundHalfEven, type QuantSpec } from "../rtn/quantize.js";

const fr = Math.fround;
export const LWC_INIT = 4.0;

export function sigmoid32(x: number): number {
  return fr(1 / (1 + Math.exp(-x)));
}

export class Lwc {
  readonly groups: number;
  readonly g: number;
  /** [rows·groups] upper / lower clip logits */
  readonly gamma: Float32Array;
  readonly beta: Float32Array;

  constructor(readonly name: string, readonly rows: number, readonly cols: number, readonly spec: QuantSpec, init = LWC_INIT) {
    this.g = effectiveGroup(cols, spec.groupSize);
    if (cols % this.g !== 0) throw new Error(`${name}: group size ${this.g} does not divide ${cols} columns`);
    this.groups = cols / this.g;
    this.gamma = new Float32Array(rows * this.groups).fill(init);
    this.beta = new Float32Array(rows * this.groups).fill(init);
  }

  /** per-group raw max/min of the last `w` seen (weights are fixed while only LWC trains) */
  private ranges?: { w: Float32Array; mx: Float32Array; mn: Float32Array };
  /** from the last forward: dŴ_i/dh_i per element, and the group's h, σ(γ), σ(β) and whether h was clamped */
  private saved?: { w: Float32Array; term: Float32Array; h: Float32Array; clamped: Uint8Array; inRange: Uint8Array };

  private groupRanges(w: Float32Array): { mx: Float32Array; mn: Float32Array } {
    if (this.ranges?.w !== w) {
      const n = this.rows * this.groups;
      const mx = new Float32Array(n);
      const mn = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        let a = -Infinity;
        let b = Infinity;
        for (let i = k * this.g; i < (k + 1) * this.g; i++) {
          const v = w[i]!;
          if (v > a) a = v;
          if (v < b) b = v;
        }
        mx[k] = a;
        mn[k] = b;
      }
      this.ranges = { w, mx, mn };
    }
    return this.ranges;
  }

  /** Scale and zero point of group k via the RTN quantizer's groupParams (fed the group's max and min). */
  private params(k: number, mx: number, mn: number): { scale: number; zero: number } {
    const p = groupParams(Float32Array.of(mx, mn), 0, 2, this.spec, sigmoid32(this.gamma[k]!), sigmoid32(this.beta[k]!));
    return { scale: p.scale, zero: Math.min(Math.max(p.zero, -1e4), 1e4) };
  }

  /** w: [rows, cols] fp32 → fake-quantized Ŵ [rows, cols]; keeps what backward() needs for this γ, β */
  forward(w: Float32Array): Float32Array {
    const out = new Float32Array(w.length);
    const term = new Float32Array(w.length);
    const n = this.rows * this.groups;
    const hs = new Float32Array(n);
    const clamped = new Uint8Array(n);
    const inRange = new Uint8Array(w.length);
    const qmax = 2 ** this.spec.bits - 1;
    const half = 2 ** (this.spec.bits - 1) - 1;
    const { mx, mn } = this.groupRanges(w);
    for (let k = 0; k < n; k++) {
      const { scale: h, zero: z } = this.params(k, mx[k]!, mn[k]!);
      hs[k] = h;
      const mxc = fr(mx[k]! * sigmoid32(this.gamma[k]!));
      const mnc = fr(mn[k]! * sigmoid32(this.beta[k]!));
      const raw = this.spec.sym ? Math.max(Math.abs(mxc), Math.abs(mnc)) / half : fr(mxc - mnc) / qmax;
      clamped[k] = raw < 1e-5 || raw > 1e4 ? 1 : 0;
      for (let i = k * this.g; i < (k + 1) * this.g; i++) {
        const u = fr(w[i]! / h);
        const r = roundHalfEven(u);
        const t = r + z;
        // dŴ/dh = (c − z) − [0 ≤ t ≤ qmax]·W/h  (= round(u) − u inside the clamp range)
        if (t < 0) { out[i] = fr(-z * h); term[i] = -z; }
        else if (t > qmax) { out[i] = fr((qmax - z) * h); term[i] = qmax - z; }
        else { out[i] = fr((t - z) * h); term[i] = r - u; inRange[i] = 1; }
      }
    }
    this.saved = { w, term, h: hs, clamped, inRange };
    return out;
  }

  /** dŴ: [rows, cols] for the Ŵ of the last forward(w) → accumulates dL/dγ, dL/dβ into dGamma, dBeta [rows·groups] */
  backward(w: Float32Array, dwq: Float32Array, dGamma: Float32Array, dBeta: Float32Array): void {
    if (this.saved?.w !== w) this.forward(w);
    const { term, clamped } = this.saved!;
    const { mx: mxs, mn: mns } = this.groupRanges(w);
    const qmax = 2 ** this.spec.bits - 1;
    const half = 2 ** (this.spec.bits - 1) - 1;
    for (let k = 0; k < this.rows * this.groups; k++) {
      if (clamped[k]) continue; // clamp(h) passes no gradient outside [1e-5, 1e4]
      let dh = 0;
      for (let i = k * this.g; i < (k + 1) * this.g; i++) dh += dwq[i]! * term[i]!;
      const mx = mxs[k]!;
      const mn = mns[k]!;
      const sg = sigmoid32(this.gamma[k]!);
      const sb = sigmoid32(this.beta[k]!);
      let dmx = 0;
      let dmn = 0;
      if (this.spec.sym) {
        const dabs = dh / half;
        const am = Math.abs(fr(mx * sg));
        const an = Math.abs(fr(mn * sb));
        if (am >= an) dmx = (am === an ? 0.5 : 1) * dabs * Math.sign(mx);
        if (an >= am) dmn = (am === an ? 0.5 : 1) * dabs * Math.sign(mn);
      } else {
        dmx = dh / qmax;
        dmn = -dh / qmax;
      }
      dGamma[k] = dGamma[k]! + dmx * mx * sg * (1 - sg);
      dBeta[k] = dBeta[k]! + dmn * mn * sb * (1 - sb);
    }
  }

  /** dŴ for the Ŵ of the last forward(w) → dL/dW [rows, cols], what LET needs because W itself is a function of the
   *  LET scales. torch autograd of the reference: round_ste passes dŴ where the code is inside [0, 2^N−1]; through
   *  h the gradient reaches the group's max (·σ(γ)) and min (·σ(β)) elements (amax/amin split evenly over ties). */
  inputGrad(w: Float32Array, dwq: Float32Array): Float32Array {
    if (this.saved?.w !== w) this.forward(w);
    const { term, clamped, inRange } = this.saved!;
    const { mx: mxs, mn: mns } = this.groupRanges(w);
    const qmax = 2 ** this.spec.bits - 1;
    const half = 2 ** (this.spec.bits - 1) - 1;
    const dw = new Float32Array(w.length);
    for (let k = 0; k < this.rows * this.groups; k++) {
      const lo = k * this.g;
      const hi = lo + this.g;
      let dh = 0;
      for (let i = lo; i < hi; i++) {
        if (inRange[i]) dw[i] = dwq[i]!;
        dh += dwq[i]! * term[i]!;
      }
      if (clamped[k]) continue;
      const mx = mxs[k]!;
      const mn = mns[k]!;
      const sg = sigmoid32(this.gamma[k]!);
      const sb = sigmoid32(this.beta[k]!);
      let dmx = 0; // dL/d(max W_g), dL/d(min W_g)
      let dmn = 0;
      if (this.spec.sym) {
        const dabs = dh / half;
        const am = Math.abs(fr(mx * sg));
        const an = Math.abs(fr(mn * sb));
        if (am >= an) dmx = (am === an ? 0.5 : 1) * dabs * Math.sign(mx) * sg;
        if (an >= am) dmn = (am === an ? 0.5 : 1) * dabs * Math.sign(mn) * sb;
      } else {
        dmx = (dh / qmax) * sg;
        dmn = (-dh / qmax) * sb;
      }
      let nMax = 0;
      let nMin = 0;
      for (let i = lo; i < hi; i++) {
        if (w[i] === mx) nMax++;
        if (w[i] === mn) nMin++;
      }
      for (let i = lo; i < hi; i++) {
        if (w[i] === mx) dw[i] = dw[i]! + dmx / nMax;
        if (w[i] === mn) dw[i] = dw[i]! + dmn / nMin;
      }
    }
    return dw;
  }
}
