// Per-token dynamic asymmetric activation fake-quant for training, forward and backward: the exact math of
// src/passes/omniquant/act-quant.ts (OmniQuant quantize/quantizer.py UniformAffineQuantizer, dynamic_method
// "per_token", autograd of the reference). One block per row of `len` values (a token, or a token's head).
// Forward: h = clamp((max − min)/qmax, 1e-5, 1e4), z = clamp(rint(−min/h), ±1e4), x̂ = (clamp(rint(x/h) + z, 0, qmax) − z)·h
// (IEEE division, rintf = round half to even, as the JS oracle). Backward: STE inside the clamp range, the scale's
// gradient dh = Σ dout·∂x̂/∂h goes to the row max (+dh/qmax) and min (−dh/qmax), split evenly over ties; nothing when
// the scale clamp was active. The backward recomputes everything from the pre-quant x, and may run in place (dx = dout).
#include "common.cuh"

struct RowQ { float mx, mn, h, z; int clamped; };

__device__ __forceinline__ RowQ row_params(const float* xr, int len, float qmax, float* scratch) {
  float mx = -INFINITY, nmn = -INFINITY;
  for (int i = threadIdx.x; i < len; i += blockDim.x) { mx = fmaxf(mx, xr[i]); nmn = fmaxf(nmn, -xr[i]); }
  RowQ q;
  q.mx = block_max(mx, scratch);
  q.mn = -block_max(nmn, scratch);
  const float raw = __fdiv_rn(__fsub_rn(q.mx, q.mn), qmax);
  q.clamped = (raw < 1e-5f || raw > 1e4f) ? 1 : 0;
  q.h = fminf(fmaxf(raw, 1e-5f), 1e4f);
  q.z = fminf(fmaxf(rintf(__fdiv_rn(-q.mn, q.h)), -1e4f), 1e4f);
  return q;
}

extern "C" __global__ void aq_fwd(float* __restrict__ y, const float* __restrict__ x, int rows, int len, float qmax) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  if (r >= rows) return;
  const float* xr = x + (size_t)r * len;
  const RowQ q = row_params(xr, len, qmax, scratch);
  float* yr = y + (size_t)r * len;
  for (int i = threadIdx.x; i < len; i += blockDim.x) {
    const float c = fminf(fmaxf(rintf(__fdiv_rn(xr[i], q.h)) + q.z, 0.f), qmax);
    yr[i] = __fmul_rn(c - q.z, q.h);
  }
}

__device__ __forceinline__ double block_sum_d(double v, double* scratch /* [32] */) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nw ? scratch[lane] : 0.0;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// dx [rows·len] from dout and the pre-quant x (dx may alias dout)
extern "C" __global__ void aq_bwd(float* dx, const float* dout, const float* __restrict__ x, int rows, int len, float qmax) {
  __shared__ float scratch[32];
  __shared__ double dscratch[32];
  const int r = blockIdx.x;
  if (r >= rows) return;
  const float* xr = x + (size_t)r * len;
  const RowQ q = row_params(xr, len, qmax, scratch);
  const float* dr = dout + (size_t)r * len;
  double dh = 0.0;
  float nMax = 0.f, nMin = 0.f;
  for (int i = threadIdx.x; i < len; i += blockDim.x) {
    const float u = __fdiv_rn(xr[i], q.h);
    const float rr = rintf(u);
    const float t = rr + q.z;
    const float term = t < 0.f ? -q.z : t > qmax ? qmax - q.z : __fsub_rn(rr, u);
    dh += (double)dr[i] * (double)term;
    if (xr[i] == q.mx) nMax += 1.f;
    if (xr[i] == q.mn) nMin += 1.f;
  }
  dh = block_sum_d(dh, dscratch);
  nMax = block_sum(nMax, scratch);
  nMin = block_sum(nMin, scratch);
  const double dmx = q.clamped ? 0.0 : dh / qmax;
  float* dxr = dx + (size_t)r * len;
  for (int i = threadIdx.x; i < len; i += blockDim.x) {
    const float t = rintf(__fdiv_rn(xr[i], q.h)) + q.z;
    float g = (t >= 0.f && t <= qmax) ? dr[i] : 0.f;
    if (!q.clamped) {
      if (xr[i] == q.mx) g = (float)((double)g + dmx / nMax);
      if (xr[i] == q.mn) g = (float)((double)g - dmx / nMin);
    }
    dxr[i] = g;
  }
}
