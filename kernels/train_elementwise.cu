// Training elementwise pieces (src/nn/train/swiglu.ts, run.ts's MSE): SwiGLU forward/backward, y = a + b, and the
// MSE loss with its gradient dy = 2(y − t)/n (loss summed in double into *loss).
#include "common.cuh"

#define GRID_LOOP(t, n) for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < (n); t += (long long)gridDim.x * blockDim.x)

extern "C" __global__ void swiglu_fwd(float* __restrict__ y, const float* __restrict__ g, const float* __restrict__ u, long long n) {
  GRID_LOOP(t, n) {
    const float a = g[t];
    y[t] = a / (1.f + expf(-a)) * u[t];
  }
}

extern "C" __global__ void swiglu_bwd(float* __restrict__ dg, float* __restrict__ du, const float* __restrict__ dout, const float* __restrict__ g, const float* __restrict__ u, long long n) {
  GRID_LOOP(t, n) {
    const float a = g[t];
    const float sg = 1.f / (1.f + expf(-a));
    const float d = dout[t];
    du[t] = d * a * sg;
    dg[t] = d * u[t] * sg * (1.f + a * (1.f - sg));
  }
}

extern "C" __global__ void add_vec(float* y, const float* a, const float* b, long long n) {
  GRID_LOOP(t, n) y[t] = a[t] + b[t];
}

// loss += Σ (y − t)² (double); dy = 2(y − t)/n unless dy is null, or dy += 2(y − t)/n with accumulate (the second
// term of OmniQuant's --aug_loss)
extern "C" __global__ void mse_grad(float* __restrict__ dy, double* __restrict__ loss, const float* __restrict__ y, const float* __restrict__ tgt, long long n,
                                    int accumulate) {
  __shared__ float scratch[32];
  float s = 0.f;
  GRID_LOOP(t, n) {
    const float d = y[t] - tgt[t];
    s += d * d;
    if (dy) dy[t] = (accumulate ? dy[t] : 0.f) + 2.f * d / (float)n;
  }
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) atomicAdd(loss, (double)s);
}

// bf16 GEMM mode: swiglu_fwd's value rounded to bf16 (nearest even) and written only as bf16 — the down_proj operand,
// the value of swiglu_fwd followed by elementwise.cu cast_f32_bf16
extern "C" __global__ void swiglu_fwd_bf16(unsigned short* __restrict__ y16, const float* __restrict__ g, const float* __restrict__ u, long long n) {
  GRID_LOOP(t, n) {
    const float a = g[t];
    const unsigned int b = __float_as_uint(a / (1.f + expf(-a)) * u[t]);
    y16[t] = (unsigned short)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
  }
}

// bf16 GEMM mode: swiglu_bwd's dg, du rounded to bf16 (nearest even) and written only as bf16 — the operands of the
// gate / up dW and dx GEMMs; the values of swiglu_bwd followed by elementwise.cu cast_f32_bf16
__device__ __forceinline__ unsigned short f2bf_rn(float x) {
  const unsigned int b = __float_as_uint(x);
  return (unsigned short)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

extern "C" __global__ void swiglu_bwd_bf16(unsigned short* __restrict__ dg16, unsigned short* __restrict__ du16, const float* __restrict__ dout, const float* __restrict__ g, const float* __restrict__ u, long long n) {
  GRID_LOOP(t, n) {
    const float a = g[t];
    const float sg = 1.f / (1.f + expf(-a));
    const float d = dout[t];
    du16[t] = f2bf_rn(d * a * sg);
    dg16[t] = f2bf_rn(d * u[t] * sg * (1.f + a * (1.f - sg)));
  }
}
