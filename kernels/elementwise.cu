// Elementwise and row kernels: SwiGLU, residual add, bias add, per-row sigmoid gate, row gather / scaled scatter-add.
#include "common.cuh"

// silu(g) ⊙ u; g, u, y: [n]
extern "C" __global__ void swiglu(float* __restrict__ y, const float* __restrict__ g, const float* __restrict__ u, long long n) {
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < n; t += (long long)gridDim.x * blockDim.x) {
    const float a = g[t];
    y[t] = a / (1.f + expf(-a)) * u[t];
  }
}

// y = a + b; [n]
extern "C" __global__ void add(float* __restrict__ y, const float* __restrict__ a, const float* __restrict__ b, long long n) {
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < n; t += (long long)gridDim.x * blockDim.x) y[t] = a[t] + b[t];
}

// y: [rows, N] += bias [N]
extern "C" __global__ void add_bias_rows(float* __restrict__ y, const float* __restrict__ bias, long long rows, int N) {
  const long long n = rows * N;
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < n; t += (long long)gridDim.x * blockDim.x) y[t] += bias[t % N];
}

// out [S, F] = y [S, F] · sigmoid(x [S, D] · w [D]); one block per row
extern "C" __global__ void sigmoid_gate(float* __restrict__ out, const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ y, int S, int D, int F) {
  __shared__ float scratch[32];
  const int s = blockIdx.x;
  if (s >= S) return;
  float dot = 0.f;
  for (int d = threadIdx.x; d < D; d += blockDim.x) dot += x[(size_t)s * D + d] * w[d];
  dot = block_sum(dot, scratch);
  const float g = 1.f / (1.f + expf(-dot));
  for (int f = threadIdx.x; f < F; f += blockDim.x) out[(size_t)s * F + f] = y[(size_t)s * F + f] * g;
}

// out [R, D] = x [S, D] rows[R]; one block per output row
extern "C" __global__ void gather_rows(float* __restrict__ out, const float* __restrict__ x, const int* __restrict__ rows, int R, int D) {
  const int r = blockIdx.x;
  if (r >= R) return;
  const float* src = x + (size_t)rows[r] * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) out[(size_t)r * D + d] = src[d];
}

// out [S, D]: out[rows[r]] += scale[r] · y[r]; atomic so repeated rows add up (order-exact when rows are distinct)
extern "C" __global__ void scatter_add_rows(float* __restrict__ out, const float* __restrict__ y, const int* __restrict__ rows, const float* __restrict__ scale, int R, int D) {
  const int r = blockIdx.x;
  if (r >= R) return;
  float* dst = out + (size_t)rows[r] * D;
  const float a = scale[r];
  for (int d = threadIdx.x; d < D; d += blockDim.x) atomicAdd(dst + d, a * y[(size_t)r * D + d]);
}

// fp32 → bf16 bits, round to nearest even (NaN kept quiet); x: [n] → y: [n] uint16. Header-free (no cuda_bf16.h).
extern "C" __global__ void cast_f32_bf16(unsigned short* __restrict__ y, const float* __restrict__ x, long long n) {
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < n; t += (long long)gridDim.x * blockDim.x) {
    const unsigned int u = __float_as_uint(x[t]);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) y[t] = (unsigned short)((u >> 16) | 0x40u);
    else y[t] = (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
}
