// RoPE on x [rows, heads·Dh] (row r at position r mod L): rotate-half (Llama/HF layout: pairs (i, i+Dh/2)) and
// interleaved (GPT-J/Meta layout: pairs (2i, 2i+1)). Angles in fp32 the way transformers computes them.
#include "common.cuh"

__device__ __forceinline__ void rope_angle(int pos, int i, int Dh, float theta, float* c, float* s) {
  const float inv = 1.f / powf(theta, (float)(2 * i) / (float)Dh);
  const float a = (float)pos * inv;
  *c = cosf(a);
  *s = sinf(a);
}

// grid: (rows, ceil(heads·Dh/2 / blockDim.x))
extern "C" __global__ void rope_rotate_half(float* __restrict__ y, const float* __restrict__ x, int rows, int heads, int Dh, float theta, int L) {
  const int r = blockIdx.x, half = Dh / 2;
  const int t = blockIdx.y * blockDim.x + threadIdx.x;
  if (r >= rows || t >= heads * half) return;
  const int h = t / half, i = t % half;
  float c, s;
  rope_angle(r % L, i, Dh, theta, &c, &s);
  const size_t base = (size_t)r * heads * Dh + (size_t)h * Dh;
  const float a = x[base + i], b = x[base + i + half];
  y[base + i] = a * c - b * s;
  y[base + i + half] = b * c + a * s;
}

extern "C" __global__ void rope_interleaved(float* __restrict__ y, const float* __restrict__ x, int rows, int heads, int Dh, float theta, int L) {
  const int r = blockIdx.x, half = Dh / 2;
  const int t = blockIdx.y * blockDim.x + threadIdx.x;
  if (r >= rows || t >= heads * half) return;
  const int h = t / half, i = t % half;
  float c, s;
  rope_angle(r % L, i, Dh, theta, &c, &s);
  const size_t base = (size_t)r * heads * Dh + (size_t)h * Dh;
  const float a = x[base + 2 * i], b = x[base + 2 * i + 1];
  y[base + 2 * i] = a * c - b * s;
  y[base + 2 * i + 1] = b * c + a * s;
}
