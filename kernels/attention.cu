// Causal grouped-query attention, flash-style: q [W·L, H·HD], k, v [W·L, KH·HD] → out [W·L, H·HD]. A block owns BQ
// query rows of one head of one window; each row is shared by TPQ threads (dims part, part+TPQ, … so a warp's shared
// reads hit distinct banks). BK-key tiles of K and V stream through shared memory with an online softmax, so at most
// one BQ×BK tile of scores exists per head. HD is a compile-time define (the backend compiles one module per head dim).
#include "common.cuh"

#ifndef HD
#define HD 64
#endif
#define TPQ 4
#define BQ 64
#define DPT (HD / TPQ)
#define BK (HD > 128 ? 16 : 32)
#define KG 8

// grid: (ceil(L/BQ), H, W), block: BQ·TPQ
extern "C" __global__ void __launch_bounds__(BQ* TPQ) attention_causal(float* __restrict__ out, const float* __restrict__ q, const float* __restrict__ k,
                                                                      const float* __restrict__ v, int H, int KH, int L, float scale) {
  __shared__ float ks[BK][HD];
  __shared__ float vs[BK][HD];
  const int w = blockIdx.z, h = blockIdx.y, kvh = (h * KH) / H;
  const int q0 = blockIdx.x * BQ, part = threadIdx.x % TPQ;
  const int i = q0 + threadIdx.x / TPQ;
  const bool active = i < L;
  const int im = active ? i : L - 1;  // inactive rows shadow the last row so every lane joins the shuffles
  const size_t qStride = (size_t)H * HD, kStride = (size_t)KH * HD;
  float qr[DPT], acc[DPT];
  const float* qp = q + ((size_t)w * L + im) * qStride + (size_t)h * HD + part;
#pragma unroll
  for (int d = 0; d < DPT; d++) {
    qr[d] = qp[d * TPQ] * scale;
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
    // keys in groups of KG: scores for the group, then one online-softmax rescale (outer loop kept rolled: small code)
#pragma unroll 1
    for (int jb = 0; jb < BK; jb += KG) {
      float s[KG];
      float gmax = -INFINITY;
#pragma unroll
      for (int j = 0; j < KG; j++) {
        float dot = 0.f;
#pragma unroll
        for (int d = 0; d < DPT; d++) dot += qr[d] * ks[jb + j][d * TPQ + part];
#pragma unroll
        for (int o = 1; o < TPQ; o <<= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        s[j] = (k0 + jb + j <= im) ? dot : -INFINITY;
        gmax = fmaxf(gmax, s[j]);
      }
      if (gmax > -INFINITY) {  // a group wholly in this row's future changes nothing
        const float mNew = fmaxf(m, gmax);
        const float corr = expf(m - mNew);
        l *= corr;
#pragma unroll
        for (int d = 0; d < DPT; d++) acc[d] *= corr;
#pragma unroll
        for (int j = 0; j < KG; j++) {
          const float p = expf(s[j] - mNew);  // exp(-inf) = 0 for masked keys
          l += p;
#pragma unroll
          for (int d = 0; d < DPT; d++) acc[d] += p * vs[jb + j][d * TPQ + part];
        }
        m = mNew;
      }
    }
    __syncthreads();
  }
  if (!active) return;
  float* op = out + ((size_t)w * L + i) * qStride + (size_t)h * HD + part;
  const float invl = 1.f / l;
#pragma unroll
  for (int d = 0; d < DPT; d++) op[d * TPQ] = acc[d] * invl;
}
