// Training causal softmax over materialised scores p [rows = H·T, T] (already scaled by 1/√Dh), in place, and its
// backward ds = p ⊙ (dp − Σ p·dp)·scale; follows src/nn/train/attention.ts. One block per row; zeros above the diagonal.
#include "common.cuh"

extern "C" __global__ void causal_softmax_fwd(float* __restrict__ p, int rows, int T) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  if (r >= rows) return;
  const int valid = r % T + 1;
  float* z = p + (size_t)r * T;
  const RowSoftmax st = row_softmax_stats(z, valid, scratch);
  const float mx = st.mx, inv = st.inv;
  for (int c = threadIdx.x; c < T; c += blockDim.x) z[c] = c < valid ? expf(z[c] - mx) * inv : 0.f;
}

// ds [rows, T]: dP in, dS out (in place); p: the forward's probabilities
extern "C" __global__ void causal_softmax_bwd(float* __restrict__ ds, const float* __restrict__ p, int rows, int T, float scale) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  if (r >= rows) return;
  const int valid = r % T + 1;
  float* d = ds + (size_t)r * T;
  const float* pr = p + (size_t)r * T;
  float dot = 0.f;
  for (int c = threadIdx.x; c < valid; c += blockDim.x) dot += d[c] * pr[c];
  dot = block_sum(dot, scratch);
  for (int c = threadIdx.x; c < T; c += blockDim.x) d[c] = c < valid ? pr[c] * (d[c] - dot) * scale : 0.f;
}

// bf16 GEMM mode (src/nn/train/cuda/attention.ts, the analogue of torch autocast's eager attention: fp32 softmax, low-
// precision GEMM operands): scores s [rows, T] fp32 in, probabilities p16 [rows, T] bf16 out (zeros above the diagonal,
// round to nearest even); the backward takes dP fp32 and the bf16 probabilities and writes dS in bf16.
__device__ __forceinline__ unsigned short f2bf(float x) {
  const unsigned int u = __float_as_uint(x);
  return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
__device__ __forceinline__ float bf2f(unsigned short b) { return __uint_as_float((unsigned int)b << 16); }

// bs: the caller's query-row block (attention.ts): row r of a block ending at row e is read for columns < r + 1 and
// written for columns < min(T, e) (the block's GEMMs read no further); bs ≥ T writes whole rows.
__device__ __forceinline__ int row_limit(int rr, int T, int bs) { return min(T, (rr / bs + 1) * bs); }

extern "C" __global__ void causal_softmax_fwd_bf16(unsigned short* __restrict__ p16, const float* __restrict__ s, int rows, int T, int bs) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  if (r >= rows) return;
  const int valid = r % T + 1, lim = row_limit(r % T, T, bs);
  const float* z = s + (size_t)r * T;
  unsigned short* o = p16 + (size_t)r * T;
  const RowSoftmax st = row_softmax_stats(z, valid, scratch);
  const float mx = st.mx, inv = st.inv;
  for (int c = threadIdx.x; c < lim; c += blockDim.x) o[c] = c < valid ? f2bf(expf(z[c] - mx) * inv) : (unsigned short)0;
}

extern "C" __global__ void causal_softmax_bwd_bf16(unsigned short* __restrict__ ds16, const float* __restrict__ dp, const unsigned short* __restrict__ p16, int rows, int T, float scale, int bs) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  if (r >= rows) return;
  const int valid = r % T + 1, lim = row_limit(r % T, T, bs);
  const float* d = dp + (size_t)r * T;
  const unsigned short* pr = p16 + (size_t)r * T;
  unsigned short* o = ds16 + (size_t)r * T;
  float dot = 0.f;
  for (int c = threadIdx.x; c < valid; c += blockDim.x) dot += d[c] * bf2f(pr[c]);
  dot = block_sum(dot, scratch);
  for (int c = threadIdx.x; c < lim; c += blockDim.x) o[c] = c < valid ? f2bf(bf2f(pr[c]) * (d[c] - dot) * scale) : (unsigned short)0;
}
