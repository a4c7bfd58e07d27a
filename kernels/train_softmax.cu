// Training causal softmax over materialised scores p [rows = H·T, T] (already scaled by 1/√Dh), in place, and its
// backward ds = p ⊙ (dp − Σ p·dp)·scale; follows src/nn/train/attention.ts. One block per row; zeros above the diagonal.
#include "common.cuh"

extern "C" __global__ void causal_softmax_fwd(float* __restrict__ p, int rows, int T) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  if (r >= rows) return;
  const int valid = r % T + 1;
  float* z = p + (size_t)r * T;
  float mx = -INFINITY;
  for (int c = threadIdx.x; c < valid; c += blockDim.x) mx = fmaxf(mx, z[c]);
  mx = block_max(mx, scratch);
  float sum = 0.f;
  for (int c = threadIdx.x; c < valid; c += blockDim.x) sum += expf(z[c] - mx);
  sum = block_sum(sum, scratch);
  const float inv = 1.f / sum;
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
