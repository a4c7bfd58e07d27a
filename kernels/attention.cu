// Causal grouped-query attention, flash-style: q [W·L, H·HD], k, v [W·L, KH·HD] → out [W·L, H·HD]. Each block owns BQ
// query rows of one head of one window (one thread per row) and streams BK-key tiles of K and V through shared memory
// with an online softmax, so no more than one BQ×BK tile of scores exists per head. HD is a compile-time define.
#include "common.cuh"

#ifndef HD
#define HD 64
#endif
#define BQ 64
#define BK (HD > 128 ? 16 : 32)

// grid: (ceil(L/BQ), H, W), block: BQ
extern "C" __global__ void __launch_bounds__(BQ) attention_causal(float* __restrict__ out, const float* __restrict__ q, const float* __restrict__ k,
                                                                 const float* __restrict__ v, int H, int KH, int L, float scale) {
  __shared__ float ks[BK][HD];
  __shared__ float vs[BK][HD];
  const int w = blockIdx.z, h = blockIdx.y, kvh = (h * KH) / H;
  const int q0 = blockIdx.x * BQ, i = q0 + threadIdx.x;
  const bool active = i < L;
  const size_t qStride = (size_t)H * HD, kStride = (size_t)KH * HD;
  float qr[HD], acc[HD];
  const float* qp = q + ((size_t)w * L + (active ? i : 0)) * qStride + (size_t)h * HD;
#pragma unroll
  for (int d = 0; d < HD; d++) {
    qr[d] = active ? qp[d] : 0.f;
    acc[d] = 0.f;
  }
  float m = -INFINITY, l = 0.f;
  const int kEnd = min(L, q0 + BQ);
  for (int k0 = 0; k0 < kEnd; k0 += BK) {
    for (int t = threadIdx.x; t < BK * HD; t += blockDim.x) {
      const int r = t / HD, d = t % HD, kj = k0 + r;
      const size_t off = ((size_t)w * L + kj) * kStride + (size_t)kvh * HD + d;
      ks[r][d] = kj < L ? k[off] : 0.f;
      vs[r][d] = kj < L ? v[off] : 0.f;
    }
    __syncthreads();
    if (active && k0 <= i) {
      float s[BK];
      float tmax = -INFINITY;
#pragma unroll
      for (int j = 0; j < BK; j++) {
        float dot = 0.f;
#pragma unroll
        for (int d = 0; d < HD; d++) dot += qr[d] * ks[j][d];
        s[j] = (k0 + j <= i) ? dot * scale : -INFINITY;
        tmax = fmaxf(tmax, s[j]);
      }
      const float mNew = fmaxf(m, tmax);
      const float corr = expf(m - mNew);
      l *= corr;
#pragma unroll
      for (int d = 0; d < HD; d++) acc[d] *= corr;
#pragma unroll
      for (int j = 0; j < BK; j++) {
        const float p = (k0 + j <= i) ? expf(s[j] - mNew) : 0.f;
        l += p;
#pragma unroll
        for (int d = 0; d < HD; d++) acc[d] += p * vs[j][d];
      }
      m = mNew;
    }
    __syncthreads();
  }
  if (!active) return;
  float* op = out + ((size_t)w * L + i) * qStride + (size_t)h * HD;
  const float invl = 1.f / l;
#pragma unroll
  for (int d = 0; d < HD; d++) op[d] = acc[d] * invl;
}
