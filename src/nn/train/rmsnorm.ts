// RMSNorm forward/backward (transformers LlamaRMSNorm: y = w ⊙ x·rsqrt(mean(x²)+eps), fp32), llm.c style.

/** x: [T, D], w: [D] → out [T, D], rstd [T] (kept for the backward) */
export function rmsnorm_forward(x: Float32Array, w: Float32Array, T: number, D: number, eps: number): { out: Float32Array; rstd: Float32Array } {
  const out = new Float32Array(T * D);
  const rstd = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const o = t * D;
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[o + i]! * x[o + i]!;
    const r = 1 / Math.sqrt(ss / D + eps);
    rstd[t] = r;
    for (let i = 0; i < D; i++) out[o + i] = w[i]! * (x[o + i]! * r);
  }
  return { out, rstd };
}

/** dout: [T, D] → dx [T, D] (added into `dx` when given), dw [D] (accumulated into `dw` when given) */
export function rmsnorm_backward(
  dout: Float32Array, x: Float32Array, w: Float32Array, rstd: Float32Array, T: number, D: number,
  dx: Float32Array = new Float32Array(T * D), dw?: Float32Array,
): Float32Array {
  for (let t = 0; t < T; t++) {
    const o = t * D;
    const r = rstd[t]!;
    let dot = 0; // Σ_i (w⊙dy)_i x_i
    for (let i = 0; i < D; i++) dot += w[i]! * dout[o + i]! * x[o + i]!;
    const c = (dot * r * r * r) / D;
    for (let i = 0; i < D; i++) {
      dx[o + i] = dx[o + i]! + w[i]! * dout[o + i]! * r - x[o + i]! * c;
      if (dw) dw[i] = dw[i]! + dout[o + i]! * x[o + i]! * r;
    }
  }
  return dx;
}
