// Training MoE helpers (src/nn/train/moe.ts): routed rows gathered with a per-row scale, and the per-row dot
// dr[i] = dout[rows[i]] · y[i] that the renormalised routing weights' gradient needs. One block per row.
#include "common.cuh"

// out [R, D] = scale[i] · x[rows[i]] (scale null: 1)
extern "C" __global__ void gather_rows_scaled(float* __restrict__ out, const float* __restrict__ x, const int* __restrict__ rows, const float* __restrict__ scale, int R, int D) {
  const int r = blockIdx.x;
  if (r >= R) return;
  const float a = scale ? scale[r] : 1.f;
  const float* src = x + (size_t)rows[r] * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) out[(size_t)r * D + d] = a * src[d];
}

extern "C" __global__ void row_dot_gathered(float* __restrict__ dot, const float* __restrict__ a, const int* __restrict__ rows, const float* __restrict__ y, int R, int D) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  if (r >= R) return;
  const float* ar = a + (size_t)rows[r] * D;
  float s = 0.f;
  for (int d = threadIdx.x; d < D; d += blockDim.x) s += ar[d] * y[(size_t)r * D + d];
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) dot[r] = s;
}

// out [S, D]: out[rows[r]] += scale[r] · y[r] (rows distinct within one call)
extern "C" __global__ void scatter_add_scaled(float* __restrict__ out, const float* __restrict__ y, const int* __restrict__ rows, const float* __restrict__ scale, int R, int D) {
  const int r = blockIdx.x;
  if (r >= R) return;
  float* dst = out + (size_t)rows[r] * D;
  const float a = scale ? scale[r] : 1.f;
  for (int d = threadIdx.x; d < D; d += blockDim.x) dst[d] += a * y[(size_t)r * D + d];
}
