// Reference GEMM-shaped ops as plain loops (the oracle the onnxruntime engine and cuBLAS are tested against).

/** x [M, K] · w [N, K]ᵀ (+ bias [N]) → [M, N], fp32 accumulate */
export function linear(x: Float32Array, w: Float32Array, M: number, K: number, N: number, bias?: Float32Array): Float32Array {
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x[m * K + k]! * w[n * K + k]!;
      y[m * N + n] = acc + (bias ? bias[n]! : 0);
    }
  }
  return y;
}

/** Causal grouped-query attention over windows of L rows.
 *  q: [W·L, H·Dh], k, v: [W·L, KH·Dh] → [W·L, H·Dh] */
export function attention(q: Float32Array, k: Float32Array, v: Float32Array, rows: number, H: number, KH: number, Dh: number, L: number): Float32Array {
  const out = new Float32Array(rows * H * Dh);
  const scale = 1 / Math.sqrt(Dh);
  const scores = new Float64Array(L);
  for (let r = 0; r < rows; r++) {
    const w0 = r - (r % L);
    for (let h = 0; h < H; h++) {
      const kh = Math.floor((h * KH) / H);
      let mx = -Infinity;
      for (let j = w0; j <= r; j++) {
        let s = 0;
        for (let d = 0; d < Dh; d++) s += q[r * H * Dh + h * Dh + d]! * k[j * KH * Dh + kh * Dh + d]!;
        s *= scale;
        scores[j - w0] = s;
        if (s > mx) mx = s;
      }
      let sum = 0;
      for (let j = w0; j <= r; j++) sum += scores[j - w0] = Math.exp(scores[j - w0]! - mx);
      for (let d = 0; d < Dh; d++) {
        let acc = 0;
        for (let j = w0; j <= r; j++) acc += scores[j - w0]! * v[j * KH * Dh + kh * Dh + d]!;
        out[r * H * Dh + h * Dh + d] = acc / sum;
      }
    }
  }
  return out;
}

/** Per-token NLL of softmax(h · wᵀ): h [S, D], w [V, D], targets [S] → [S] */
export function nll(h: Float32Array, w: Float32Array, targets: Int32Array, S: number, D: number, V: number): Float32Array {
  const out = new Float32Array(S);
  const logits = new Float64Array(V);
  for (let s = 0; s < S; s++) {
    let mx = -Infinity;
    for (let v = 0; v < V; v++) {
      let acc = 0;
      for (let d = 0; d < D; d++) acc += h[s * D + d]! * w[v * D + d]!;
      logits[v] = acc;
      if (acc > mx) mx = acc;
    }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[v]! - mx);
    out[s] = mx + Math.log(sum) - logits[targets[s]!]!;
  }
  return out;
}
