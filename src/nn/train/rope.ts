// Rotary position embedding, rotate-half layout (transformers apply_rotary_pos_emb / LlamaRotaryEmbedding,
// default rope_type): inv_freq_i = θ^(−2i/Dh), angle = pos·inv_freq, cos/sin of cat(angle, angle) in fp32.

export interface RopeTable {
  T: number;
  half: number;
  /** [T, half] */
  cos: Float32Array;
  sin: Float32Array;
}

const tables = new Map<string, RopeTable>();

export function ropeTable(T: number, headDim: number, theta: number): RopeTable {
  const key = `${T}:${headDim}:${theta}`;
  let tb = tables.get(key);
  if (!tb) {
    const half = headDim / 2;
    const cos = new Float32Array(T * half);
    const sin = new Float32Array(T * half);
    for (let i = 0; i < half; i++) {
      const inv = Math.fround(1 / Math.pow(theta, (2 * i) / headDim));
      for (let p = 0; p < T; p++) {
        const a = Math.fround(p * inv);
        cos[p * half + i] = Math.cos(a);
        sin[p * half + i] = Math.sin(a);
      }
    }
    tb = { T, half, cos, sin };
    tables.set(key, tb);
  }
  return tb;
}

/** x: [T, H·Dh] (positions 0..T−1) → rotated copy [T, H·Dh] */
export function rope_forward(x: Float32Array, T: number, H: number, Dh: number, theta: number): Float32Array {
  const { cos, sin, half } = ropeTable(T, Dh, theta);
  const out = new Float32Array(x.length);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const o = (t * H + h) * Dh;
      for (let i = 0; i < half; i++) {
        const c = cos[t * half + i]!;
        const s = sin[t * half + i]!;
        const a = x[o + i]!;
        const b = x[o + i + half]!;
        out[o + i] = a * c - b * s;
        out[o + i + half] = b * c + a * s;
      }
    }
  }
  return out;
}

/** dout: [T, H·Dh] → dx [T, H·Dh] (the transpose of the rotation = rotation by −angle) */
export function rope_backward(dout: Float32Array, T: number, H: number, Dh: number, theta: number): Float32Array {
  const { cos, sin, half } = ropeTable(T, Dh, theta);
  const dx = new Float32Array(dout.length);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const o = (t * H + h) * Dh;
      for (let i = 0; i < half; i++) {
        const c = cos[t * half + i]!;
        const s = sin[t * half + i]!;
        const da = dout[o + i]!;
        const db = dout[o + i + half]!;
        dx[o + i] = da * c + db * s;
        dx[o + i + half] = db * c - da * s;
      }
    }
  }
  return dx;
}
