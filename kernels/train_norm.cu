// Training RMSNorm forward (saving rstd) and backward (dx, dw), fp32; pairs with src/nn/train/rmsnorm.ts
// (transformers LlamaRMSNorm: y = w ⊙ x·rsqrt(mean(x²)+eps)), llm.c-style explicit backward.
#include "common.cuh"

// x [T, D], w [D] → out [T, D], rstd [T]; one block per row
extern "C" __global__ void rmsnorm_fwd(float* __restrict__ out, float* __restrict__ rstd, const float* __restrict__ x, const float* __restrict__ w, int T, int D, float eps) {
  __shared__ float scratch[32];
  const int t = blockIdx.x;
  if (t >= T) return;
  const float* xr = x + (size_t)t * D;
  float ss = 0.f;
  for (int i = threadIdx.x; i < D; i += blockDim.x) ss += xr[i] * xr[i];
  ss = block_sum(ss, scratch);
  const float r = 1.f / sqrtf(ss / D + eps);
  if (threadIdx.x == 0) rstd[t] = r;
  for (int i = threadIdx.x; i < D; i += blockDim.x) out[(size_t)t * D + i] = w[i] * (xr[i] * r);
}

// dx [T, D] = base + w⊙dout·r − x·(Σ w⊙dout⊙x)·r³/D; base may be null (0) or alias dx; one block per row
extern "C" __global__ void rmsnorm_bwd_dx(float* dx, const float* base, const float* __restrict__ dout, const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ rstd, int T, int D) {
  __shared__ float scratch[32];
  const int t = blockIdx.x;
  if (t >= T) return;
  const size_t o = (size_t)t * D;
  const float r = rstd[t];
  float dot = 0.f;
  for (int i = threadIdx.x; i < D; i += blockDim.x) dot += w[i] * dout[o + i] * x[o + i];
  dot = block_sum(dot, scratch);
  const float c = dot * r * r * r / D;
  for (int i = threadIdx.x; i < D; i += blockDim.x) {
    const float b = base ? base[o + i] : 0.f;
    dx[o + i] = b + w[i] * dout[o + i] * r - x[o + i] * c;
  }
}

// dw [D] += Σ_t dout[t, i]·x[t, i]·rstd[t]; one thread per column
extern "C" __global__ void rmsnorm_bwd_dw(float* __restrict__ dw, const float* __restrict__ dout, const float* __restrict__ x, const float* __restrict__ rstd, int T, int D) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= D) return;
  float s = 0.f;
  for (int t = 0; t < T; t++) s += dout[(size_t)t * D + i] * x[(size_t)t * D + i] * rstd[t];
  dw[i] += s;
}
