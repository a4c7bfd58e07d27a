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
