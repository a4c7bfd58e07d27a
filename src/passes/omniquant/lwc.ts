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

  /** w: [rows, cols] fp32 → fake-quantized Ŵ [rows, cols] */
  forward(w: Float32Array): Float32Array {
    const out = new Float32Array(w.length);
    const qmax = 2 ** this.spec.bits - 1;
    for (let k = 0; k < this.rows * this.groups; k++) {
      const start = k * this.g; // row-major: group k of row ⌊k/groups⌋ starts at k·g
      const { scale: h, zero: z } = this.params(w, k);
      for (let i = start; i < start + this.g; i++) {
        const t = roundHalfEven(fr(w[i]! / h)) + z;
        const c = t < 0 ? 0 : t > qmax ? qmax : t;
        out[i] = fr((c - z) * h);
      }
    }
    return out;
  }

  private params(w: Float32Array, k: number): { scale: number; zero: number } {
    const p = groupParams(w, k * this.g, this.g, this.spec, sigmoid32(this.gamma[k]!), sigmoid32(this.beta[k]!));
    return { scale: p.scale, zero: Math.min(Math.max(p.zero, -1e4), 1e4) };
  }

  /** dŴ: [rows, cols] → accumulates dL/dγ, dL/dβ into dGamma, dBeta [rows·groups] */
  backward(w: Float32Array, dwq: Float32Array, dGamma: Float32Array, dBeta: Float32Array): void {
    const qmax = 2 ** this.spec.bits - 1;
    const half = 2 ** (this.spec.bits - 1) - 1;
    for (let k = 0; k < this.rows * this.groups; k++) {
      const start = k * this.g;
      let mx = -Infinity;
      let mn = Infinity;
      for (let i = start; i < start + this.g; i++) {
        if (w[i]! > mx) mx = w[i]!;
        if (w[i]! < mn) mn = w[i]!;
      }
      const sg = sigmoid32(this.gamma[k]!);
      const sb = sigmoid32(this.beta[k]!);
      const { scale: h, zero: z } = this.params(w, k);
      // dŴ/dh = (c − z) − [0 ≤ t ≤ qmax]·W/h  (= round(u) − u inside the clamp range)
      let dh = 0;
      for (let i = start; i < start + this.g; i++) {
        const u = fr(w[i]! / h);
        const r = roundHalfEven(u);
        const t = r + z;
        const term = t >= 0 && t <= qmax ? r - u : (t < 0 ? 0 : qmax) - z;
        dh += dwq[i]! * term;
      }
      const mxc = fr(mx * sg);
      const mnc = fr(mn * sb);
      let dmx = 0;
      let dmn = 0;
      if (this.spec.sym) {
        const raw = Math.max(Math.abs(mxc), Math.abs(mnc)) / half;
        if (raw < 1e-5 || raw > 1e4) continue;
        const dabs = dh / half;
        const am = Math.abs(mxc);
        const an = Math.abs(mnc);
        if (am >= an) dmx = (am === an ? 0.5 : 1) * dabs * Math.sign(mxc);
        if (an >= am) dmn = (am === an ? 0.5 : 1) * dabs * Math.sign(mnc);
      } else {
        const raw = fr(mxc - mnc) / qmax;
        if (raw < 1e-5 || raw > 1e4) continue;
        dmx = dh / qmax;
        dmn = -dh / qmax;
      }
      dGamma[k] = dGamma[k]! + dmx * mx * sg * (1 - sg);
      dBeta[k] = dBeta[k]! + dmn * mn * sb * (1 - sb);
    }
  }
}
