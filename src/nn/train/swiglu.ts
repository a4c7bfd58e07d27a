// SwiGLU (transformers LlamaMLP act: silu(gate) ⊙ up) and residual add, forward/backward.

/** gate, up: [n] → silu(gate)·up [n] */
export function swiglu_forward(gate: Float32Array, up: Float32Array): Float32Array {
  const out = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
  return out;
}

/** dout: [n] → dgate, dup [n] */
export function swiglu_backward(dout: Float32Array, gate: Float32Array, up: Float32Array): { dgate: Float32Array; dup: Float32Array } {
  const dgate = new Float32Array(gate.length);
  const dup = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    const sg = 1 / (1 + Math.exp(-g));
    const d = dout[i]!;
    dup[i] = d * g * sg;
    dgate[i] = d * up[i]! * sg * (1 + g * (1 - sg));
  }
  return { dgate, dup };
}

/** a + b → new [n]; the backward of a residual add passes dout to both inputs unchanged. */
export function residual_forward(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/** acc += d (in place) */
export function accumulate(acc: Float32Array, d: Float32Array): Float32Array {
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + d[i]!;
  return acc;
}
