// Plain-TS reference ops (the oracle for every backend): RMSNorm, RoPE, SwiGLU, residual add, sigmoid gate.
// All fp32; shapes row-major.

const fr = Math.fround;

/** x: [S, D], w: [D] → [S, D]; y = x / sqrt(mean(x²) + eps) · w (transformers: variance in fp32) */
export function rmsnorm(x: Float32Array, w: Float32Array, S: number, D: number, eps: number): Float32Array {
  const y = new Float32Array(S * D);
  for (let s = 0; s < S; s++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[s * D + d]! * x[s * D + d]!;
    const inv = fr(1 / Math.sqrt(fr(ss / D) + eps));
    for (let d = 0; d < D; d++) y[s * D + d] = fr(w[d]! * fr(x[s * D + d]! * inv));
  }
  return y;
}

/** cos/sin tables for rotate-half RoPE: [L, Dh/2] each, fp32 as transformers computes them. */
export function ropeTables(L: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(L * half);
  const sin = new Float32Array(L * half);
  for (let i = 0; i < half; i++) {
    const invFreq = fr(1 / fr(theta ** fr((2 * i) / headDim)));
    for (let p = 0; p < L; p++) {
      const f = fr(p * invFreq);
      cos[p * half + i] = Math.cos(f);
      sin[p * half + i] = Math.sin(f);
    }
  }
  return { cos, sin };
}

/** x: [W·L, H·Dh] → rotate-half RoPE, row r at position r mod L. */
export function rope(x: Float32Array, rows: number, heads: number, headDim: number, theta: number, windowLen: number): Float32Array {
  const { cos, sin } = ropeTables(windowLen, headDim, theta);
  const half = headDim / 2;
  const y = new Float32Array(x.length);
  const width = heads * headDim;
  for (let r = 0; r < rows; r++) {
    const p = r % windowLen;
    for (let h = 0; h < heads; h++) {
      const o = r * width + h * headDim;
      for (let i = 0; i < half; i++) {
        const a = x[o + i]!;
        const b = x[o + i + half]!;
        const c = cos[p * half + i]!;
        const s = sin[p * half + i]!;
        y[o + i] = fr(fr(a * c) - fr(b * s));
        y[o + i + half] = fr(fr(b * c) + fr(a * s));
      }
    }
  }
  return y;
}

/** silu(g) ⊙ u */
export function swiglu(g: Float32Array, u: Float32Array): Float32Array {
  const y = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const v = g[i]!;
    y[i] = fr(fr(v / (1 + Math.exp(-v))) * u[i]!);
  }
  return y;
}

export function add(a: Float32Array, b: Float32Array): Float32Array {
  const y = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i]! + b[i]!;
  return y;
}

/** y[s, :] · sigmoid(x[s, :] · w) : x [S, D], w [D], y [S, F] */
export function sigmoidGate(x: Float32Array, w: Float32Array, y: Float32Array, S: number, D: number, F: number): Float32Array {
  const out = new Float32Array(S * F);
  for (let s = 0; s < S; s++) {
    let z = 0;
    for (let d = 0; d < D; d++) z += x[s * D + d]! * w[d]!;
    const g = 1 / (1 + Math.exp(-z));
    for (let f = 0; f < F; f++) out[s * F + f] = fr(y[s * F + f]! * g);
  }
  return out;
}
