// The op table every backend implements (cpu = oracle + ORT GEMM engine, cuda = koffi/NVRTC/cuBLAS, null = records).
// The model forward (src/nn) is written once against this interface. Shapes are row-major; fp32 compute.

export interface DeviceTensor {
  readonly shape: readonly number[];
}

export interface RoutingResult {
  /** [tokens, k] expert index per token and slot. */
  experts: Int32Array;
  /** [tokens, k] routing weight per token and slot (renormalised when asked). */
  weights: Float32Array;
}

/** One SwiGLU MLP's weights (HF layout): gate, up [F, D], down [D, F]. */
export interface MlpWeights<T> {
  gate: T;
  up: T;
  down: T;
}

export interface Ops<T extends DeviceTensor = DeviceTensor> {
  readonly device: string;
  /** Host fp32 → device tensor (weights are uploaded once per block and released after). */
  upload(data: Float32Array, shape: number[]): Promise<T>;
  download(x: T): Promise<Float32Array>;
  free(x: T): void;

  /** table: [V, D], ids: [S] → [S, D] */
  embedding(table: T, ids: Int32Array): Promise<T>;
  /** x: [S, D], w: [D] → [S, D]; y = x / sqrt(mean(x²) + eps) · w */
  rmsnorm(x: T, w: T, eps: number): Promise<T>;
  /** x: [S, K], w: [N, K] (HF layout), bias: [N] → [S, N] = x · wᵀ + bias */
  linear(x: T, w: T, bias?: T): Promise<T>;
  /** x: [W·L, H·Dh] holding W windows of L tokens; rotate-half RoPE (Llama layout), row r at position r mod L → new tensor */
  rope(x: T, heads: number, headDim: number, theta: number, windowLen: number): Promise<T>;
  /** q: [W·L, H·Dh], k, v: [W·L, KH·Dh] → [W·L, H·Dh]; each window of L rows attends causally within itself only;
   *  grouped-query (head h uses kv head ⌊h·KH/H⌋), softmax scale 1/√Dh */
  attention(q: T, k: T, v: T, heads: number, kvHeads: number, headDim: number, windowLen: number): Promise<T>;
  /** Per-token dynamic asymmetric activation fake-quant (OmniQuant UniformAffineQuantizer, dynamic_method per_token):
   *  x [S, C] viewed as rows of rowLen (C a multiple of rowLen; rowLen = C per token, = Dh per (token, head)); per row
   *  h = clamp((max − min)/(2^bits − 1), 1e-5, 1e4), z = round(clamp(−min/h, ±1e4)), x̂ = (clamp(round(x/h) + z, 0, 2^bits − 1) − z)·h,
   *  rounding half to even → new tensor */
  actQuant(x: T, rowLen: number, bits: number): Promise<T>;
  /** silu(gate) ⊙ up, both [S, F] → [S, F] */
  swiglu(gate: T, up: T): Promise<T>;
  /** a + b, same shape */
  add(a: T, b: T): Promise<T>;
  /** logits: [S, E] → softmax, top-k per row, optional renormalisation of the k weights (transformers' order) */
  route(logits: T, k: number, renormalize: boolean): Promise<RoutingResult>;
  /** x: [S, D], rows: [R] → [R, D] */
  gatherRows(x: T, rows: Int32Array): Promise<T>;
  /** out[rows[r]] += scale[r] · y[r]; out: [S, D] (updated in place), y: [R, D] */
  scatterAddRows(out: T, y: T, rows: Int32Array, scale: Float32Array): Promise<void>;
  /** sigmoid(x · wᵀ) as a per-row gate multiplied into y: x [S,D], w [1,D], y [S,F] → [S,F] */
  sigmoidGate(x: T, w: T, y: T): Promise<T>;
  /** zeros [S, D] */
  zeros(shape: number[]): Promise<T>;
  /** Fused lm_head + cross-entropy: h: [S, D], w: [V, D], targets: [S] → per-token NLL [S] (full logits stay on the device). */
  nll(h: T, w: T, targets: Int32Array): Promise<Float32Array>;

  // Optional fused ops: a backend that has them saves launches and host round trips; src/nn falls back to the
  // primitive ops above (same math, same summation order) when they are absent.
  /** [x·w₀ᵀ + b₀, x·w₁ᵀ + b₁, …] sharing one read (and, in bf16 mode, one cast) of x: [S, K] */
  linearMany?(x: T, ws: ReadonlyArray<{ w: T; bias?: T }>): Promise<T[]>;
  /** [h, y] = [a + b, rmsnorm(a + b) · w]: a, b [S, D], w [D] */
  addRmsnorm?(a: T, b: T, w: T, eps: number): Promise<[T, T]>;
  /** down(silu(x·gateᵀ) ⊙ (x·upᵀ)): x [S, D] → [S, D] */
  mlp?(x: T, m: MlpWeights<T>): Promise<T>;
  /** Sparse MoE experts on the device: logits [S, E] → softmax top-k (renormalised when asked), each expert's MLP on
   *  its tokens, Σ_k weight · expert(x) per token summed in ascending expert order: x [S, D] → [S, D] */
  moeExperts?(x: T, logits: T, experts: ReadonlyArray<MlpWeights<T>>, k: number, renormalize: boolean): Promise<T>;
  /** Release per-run resources (sessions, contexts). */
  dispose(): Promise<void>;
}
