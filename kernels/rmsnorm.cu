// RMSNorm: x [S, D], w [D] → y [S, D] = x · rsqrt(mean(x²) + eps) · w; one block per row, fp32 accumulate.
#include "common.cuh"

extern "C" __global__ void rmsnorm(float* __restrict__ y, const float* __restrict__ x, const float* __restrict__ w, int S, int D, float eps) {
  __shared__ float scratch[32];
  const int s = blockIdx.x;
  if (s >= S) return;
  const float* xr = x + (size_t)s * D;
  float ss = 0.f;
  for (int d = threadIdx.x; d < D; d += blockDim.x) ss += xr[d] * xr[d];
  ss = block_sum(ss, scratch);
  const float inv = 1.f / sqrtf(ss / (float)D + eps);
  float* yr = y + (size_t)s * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) yr[d] = w[d] * (xr[d] * inv);
}

// Residual add fused with the RMSNorm that follows it: h = a + b, y = rmsnorm(h) · w (the same arithmetic as `add`
// then `rmsnorm`, so results are bit-identical); a, b, h, y [S, D]; one block per row.
extern "C" __global__ void add_rmsnorm(float* __restrict__ h, float* __restrict__ y, const float* __restrict__ a, const float* __restrict__ b,
                                       const float* __restrict__ w, int S, int D, float eps) {
  __shared__ float scratch[32];
  const int s = blockIdx.x;
  if (s >= S) return;
  const size_t r = (size_t)s * D;
  float ss = 0.f;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    const float v = a[r + d] + b[r + d];
    h[r + d] = v;
    ss += v * v;
  }
  ss = block_sum(ss, scratch);
  const float inv = 1.f / sqrtf(ss / (float)D + eps);
  for (int d = threadIdx.x; d < D; d += blockDim.x) y[r + d] = w[d] * (h[r + d] * inv);
}
