// Device-side MoE dispatch (the token→expert bookkeeping of transformers' MixtralSparseMoeBlock, without host round
// trips): per-expert ordered slot lists, a gather of the routed rows grouped by expert (fp32 or bf16), and a combine
// that sums each token's k weighted expert outputs in ascending expert order (the CPU oracle's scatter-add order).
// A slot i = s·K + j is token s's j-th pick; experts[i] ∈ [0, E). Expert e's rows sit at off[e] = Σ_{e'<e} ⌈counts[e']⌉
// (each count rounded up to a multiple of `pad`, so the per-expert GEMMs see few distinct row counts, all tile-aligned:
// cuBLAS then re-uses the kernels it already picked and loaded); the padding rows are zeros and never read back.
#include "common.cuh"

// one block per expert e (blockDim a multiple of 32, ≤ 1024): slots[e·S + n] = the n-th slot (in slot order) that
// picked e, pos[i] = n for those slots, counts[e] = how many. Ordered by a block-wide ballot scan, so deterministic.
extern "C" __global__ void moe_expert_lists(int* __restrict__ counts, int* __restrict__ slots, int* __restrict__ pos, const int* __restrict__ experts,
                                            int S, int K) {
  __shared__ int warpTotals[32];
  const int e = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  const int R = S * K;
  int base = 0;
  for (int c0 = 0; c0 < R; c0 += blockDim.x) {
    const int i = c0 + threadIdx.x;
    const bool hit = i < R && experts[i] == e;
    const unsigned int ballot = __ballot_sync(0xffffffffu, hit);
    if (lane == 0) warpTotals[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, total = 0;
    for (int w = 0; w < nw; w++) {
      const int n = warpTotals[w];
      if (w < warp) before += n;
      total += n;
    }
    if (hit) {
      const int n = base + before + __popc(ballot & ((1u << lane) - 1u));
      slots[(size_t)e * S + n] = i;
      pos[i] = n;
    }
    base += total;
    __syncthreads();  // warpTotals is rewritten next chunk
  }
  if (threadIdx.x == 0) counts[e] = base;
}

// off[0..E] (exclusive prefix of the padded counts) into shared memory; E ≤ 1024
__device__ __forceinline__ void expert_offsets(int* off, const int* counts, int E, int pad) {
  if (threadIdx.x == 0) {
    int a = 0;
    for (int e = 0; e < E; e++) {
      off[e] = a;
      a += (counts[e] + pad - 1) / pad * pad;
    }
    off[E] = a;
  }
  __syncthreads();
}

// row b of the expert-grouped buffer → its token, or -1 for a padding row (or b past the last expert's rows)
__device__ __forceinline__ int grouped_row_token(const int* off, const int* counts, const int* slots, int b, int S, int K, int E) {
  if (b >= off[E]) return -1;
  int e = 0;
  while (e + 1 < E && off[e + 1] <= b) e++;
  const int j = b - off[e];
  return j < counts[e] ? slots[(size_t)e * S + j] / K : -1;
}

// xg [rows, D] fp32 = x[token of grouped row b] (zeros on padding rows); grid ≥ off[E], one block per row
extern "C" __global__ void moe_gather_f32(float* __restrict__ xg, const float* __restrict__ x, const int* __restrict__ counts, const int* __restrict__ slots,
                                          int S, int K, int D, int E, int pad) {
  __shared__ int off[1025];
  expert_offsets(off, counts, E, pad);
  const int b = blockIdx.x;
  if (b >= off[E]) return;
  const int s = grouped_row_token(off, counts, slots, b, S, K, E);
  for (int d = threadIdx.x; d < D; d += blockDim.x) xg[(size_t)b * D + d] = s < 0 ? 0.f : x[(size_t)s * D + d];
}

// the same gather with the cast to bf16 (round to nearest even) fused: xg [S·K, D] bf16 bits
extern "C" __global__ void moe_gather_bf16(unsigned short* __restrict__ xg, const float* __restrict__ x, const int* __restrict__ counts,
                                           const int* __restrict__ slots, int S, int K, int D, int E, int pad) {
  __shared__ int off[1025];
  expert_offsets(off, counts, E, pad);
  const int b = blockIdx.x;
  if (b >= off[E]) return;
  const int s = grouped_row_token(off, counts, slots, b, S, K, E);
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    unsigned int r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(0.f), "f"(s < 0 ? 0.f : x[(size_t)s * D + d]));
    xg[(size_t)b * D + d] = (unsigned short)(r & 0xffffu);
  }
}

// out [S, D] = Σ_j weights[s·K+j] · yg[off[e_j] + pos[s·K+j]], the k terms added in ascending expert order starting
// from 0 (as the oracle's zeros + per-expert scatter-add); grid S, K ≤ 16
extern "C" __global__ void moe_combine(float* __restrict__ out, const float* __restrict__ yg, const int* __restrict__ experts, const float* __restrict__ weights,
                                       const int* __restrict__ pos, const int* __restrict__ counts, int S, int K, int D, int E, int pad) {
  __shared__ int off[1025];
  __shared__ int row[16];
  __shared__ float wt[16];
  expert_offsets(off, counts, E, pad);
  const int s = blockIdx.x;
  if (threadIdx.x == 0) {
    int ex[16];
    for (int j = 0; j < K; j++) {  // insertion sort of the k picks by expert
      const int i = s * K + j, e = experts[i];
      int n = j;
      while (n > 0 && ex[n - 1] > e) {
        ex[n] = ex[n - 1];
        row[n] = row[n - 1];
        wt[n] = wt[n - 1];
        n--;
      }
      ex[n] = e;
      row[n] = off[e] + pos[i];
      wt[n] = weights[i];
    }
  }
  __syncthreads();
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.f;
    for (int j = 0; j < K; j++) acc = __fadd_rn(acc, __fmul_rn(wt[j], yg[(size_t)row[j] * D + d]));
    out[(size_t)s * D + d] = acc;
  }
}

// silu(g) ⊙ u written as bf16 bits (the next GEMM's input, cast fused); g, u: [n] fp32
extern "C" __global__ void swiglu_bf16(unsigned short* __restrict__ y, const float* __restrict__ g, const float* __restrict__ u, long long n) {
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < n; t += (long long)gridDim.x * blockDim.x) {
    const float a = g[t];
    unsigned int r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(0.f), "f"(a / (1.f + expf(-a)) * u[t]));
    y[t] = (unsigned short)(r & 0xffffu);
  }
}
