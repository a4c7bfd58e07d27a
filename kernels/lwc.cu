// Learnable weight clipping on the device, the exact math of src/passes/omniquant/lwc.ts (OmniQuant
// quantize/quantizer.py UniformAffineQuantizer(lwc=True)): per (row, group) γ, β; xmax' = σ(γ)·max, xmin' = σ(β)·min,
// asym h = clamp((xmax'−xmin')/(2^N−1), 1e-5, 1e4), z = round(clamp(−xmin'/h, ±1e4)); sym h = clamp(max|·|/(2^(N−1)−1)),
// z = 2^(N−1)−1; Ŵ = (clamp(round_ste(W/h)+z, 0, 2^N−1) − z)·h. Backward = torch autograd of that code (STE, z without
// gradient, clamps pass the gradient on [lo, hi]). One warp per group; groups are contiguous runs of g columns.
#include "common.cuh"

__device__ __forceinline__ float sigmoid_d(float x) { return (float)(1.0 / (1.0 + exp(-(double)x))); }

struct GroupQ { float h, z; int clamped; float sg, sb, mxc, mnc; };

__device__ __forceinline__ GroupQ group_params(float mx, float mn, float gamma, float beta, int bits, int sym) {
  GroupQ q;
  q.sg = sigmoid_d(gamma);
  q.sb = sigmoid_d(beta);
  q.mxc = mx * q.sg;
  q.mnc = mn * q.sb;
  const float qmax = (float)((1 << bits) - 1);
  if (sym) {
    const float half = (float)((1 << (bits - 1)) - 1);
    const float raw = fmaxf(fabsf(q.mxc), fabsf(q.mnc)) / half;
    q.clamped = (raw < 1e-5f || raw > 1e4f) ? 1 : 0;
    q.h = fminf(fmaxf(raw, 1e-5f), 1e4f);
    q.z = half;
  } else {
    const float raw = (q.mxc - q.mnc) / qmax;
    q.clamped = (raw < 1e-5f || raw > 1e4f) ? 1 : 0;
    q.h = fminf(fmaxf(raw, 1e-5f), 1e4f);
    q.z = fminf(fmaxf(rintf(-q.mnc / q.h), -1e4f), 1e4f);
  }
  return q;
}

extern "C" __global__ void lwc_ranges(float* __restrict__ mx, float* __restrict__ mn, const float* __restrict__ w, long long groups, int g) {
  const long long k = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (k >= groups) return;
  const float* wr = w + k * g;
  float a = -INFINITY, b = INFINITY;
  for (int i = lane; i < g; i += 32) { a = fmaxf(a, wr[i]); b = fminf(b, wr[i]); }
  a = warp_max(a);
  b = -warp_max(-b);
  if (lane == 0) { mx[k] = a; mn[k] = b; }
}

// fp32 → bf16 bits, round to nearest even (the rounding of elementwise.cu cast_f32_bf16; Ŵ is finite)
__device__ __forceinline__ unsigned int bf16_bits(float x) {
  const unsigned int u = __float_as_uint(x);
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

__device__ __forceinline__ float bf2f(unsigned short b) { return __uint_as_float((unsigned int)b << 16); }
// 4 consecutive bf16 (8-byte aligned) → float4
__device__ __forceinline__ float4 bf16x4(const unsigned short* p) {
  const uint2 v = *reinterpret_cast<const uint2*>(p);
  return make_float4(__uint_as_float(v.x << 16), __uint_as_float(v.x & 0xffff0000u), __uint_as_float(v.y << 16), __uint_as_float(v.y & 0xffff0000u));
}

// fp32 W → its bf16 copy w16 (round to nearest even) and *inexact |= 1 where a value is not a bf16 value: a W that
// came from a bf16 checkpoint is exact, and the LWC kernels may then read the half-size copy (same values, same math)
extern "C" __global__ void lwc_w_bf16(unsigned short* __restrict__ w16, const float* __restrict__ w, long long n, unsigned int* __restrict__ inexact) {
  for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < n; t += (long long)gridDim.x * blockDim.x) {
    const unsigned int u = __float_as_uint(w[t]);
    const unsigned int b = bf16_bits(w[t]);
    w16[t] = (unsigned short)b;
    if ((b << 16) != u) atomicOr(inexact, 1u);
  }
}

// Ŵ into wq (fp32) and / or wq16 (bf16, the operand of the bf16-mode GEMMs); either may be null. W from w, or from
// w16 when given (lwc_w_bf16's exact copy). g % 4 == 0 takes float4 loads (4 columns per lane per pass), else one
// column per lane per pass; the same arithmetic either way.
extern "C" __global__ void lwc_fwd(float* __restrict__ wq, unsigned short* __restrict__ wq16, const float* __restrict__ w, const unsigned short* __restrict__ w16, const float* __restrict__ mx, const float* __restrict__ mn, const float* __restrict__ gamma, const float* __restrict__ beta, long long groups, int g, int bits, int sym) {
  const long long k = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (k >= groups) return;
  const GroupQ q = group_params(mx[k], mn[k], gamma[k], beta[k], bits, sym);
  const float qmax = (float)((1 << bits) - 1);
  const size_t base = (size_t)k * g;
  if ((g & 3) == 0) {
    for (int i = lane * 4; i < g; i += 128) {
      const float4 x = w16 ? bf16x4(w16 + base + i) : *reinterpret_cast<const float4*>(w + base + i);
      float4 y;
      y.x = (fminf(fmaxf(rintf(x.x / q.h) + q.z, 0.f), qmax) - q.z) * q.h;
      y.y = (fminf(fmaxf(rintf(x.y / q.h) + q.z, 0.f), qmax) - q.z) * q.h;
      y.z = (fminf(fmaxf(rintf(x.z / q.h) + q.z, 0.f), qmax) - q.z) * q.h;
      y.w = (fminf(fmaxf(rintf(x.w / q.h) + q.z, 0.f), qmax) - q.z) * q.h;
      if (wq) *reinterpret_cast<float4*>(wq + base + i) = y;
      if (wq16) *reinterpret_cast<uint2*>(wq16 + base + i) = make_uint2(bf16_bits(y.x) | (bf16_bits(y.y) << 16), bf16_bits(y.z) | (bf16_bits(y.w) << 16));
    }
    return;
  }
  for (int i = lane; i < g; i += 32) {
    const size_t e = base + i;
    const float t = rintf((w16 ? bf2f(w16[e]) : w[e]) / q.h) + q.z;
    const float c = fminf(fmaxf(t, 0.f), qmax);
    const float y = (c - q.z) * q.h;
    if (wq) wq[e] = y;
    if (wq16) wq16[e] = (unsigned short)bf16_bits(y);
  }
}

// dγ[k], dβ[k] (written, not accumulated) from dŴ [groups·g], fp32 or (dwq_bf16) bf16 bits — the bf16 GEMM mode's dW
// GEMMs write bf16 (as torch autocast's backward GEMMs do); the per-lane summation order is the same either way.
// W from w, or from its exact bf16 copy w16 when given.
extern "C" __global__ void lwc_bwd(float* __restrict__ dgamma, float* __restrict__ dbeta, const void* __restrict__ dwq_, const float* __restrict__ w, const unsigned short* __restrict__ w16, const float* __restrict__ mx, const float* __restrict__ mn, const float* __restrict__ gamma, const float* __restrict__ beta, long long groups, int g, int bits, int sym, int dwq_bf16) {
  const long long k = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (k >= groups) return;
  const GroupQ q = group_params(mx[k], mn[k], gamma[k], beta[k], bits, sym);
  const float qmax = (float)((1 << bits) - 1);
  const float* dwq = static_cast<const float*>(dwq_);
  const unsigned short* dwq16 = static_cast<const unsigned short*>(dwq_);
  float dh = 0.f;
#pragma unroll 4
  for (int i = lane; i < g; i += 32) {
    const size_t e = (size_t)k * g + i;
    const float u = (w16 ? bf2f(w16[e]) : w[e]) / q.h;
    const float r = rintf(u);
    const float t = r + q.z;
    // dŴ/dh = (c − z) − [0 ≤ t ≤ qmax]·W/h
    const float term = t < 0.f ? -q.z : t > qmax ? qmax - q.z : r - u;
    const float d = dwq_bf16 ? __uint_as_float((unsigned int)dwq16[e] << 16) : dwq[e];
    dh += d * term;
  }
  dh = warp_sum(dh);
  if (lane != 0) return;
  if (q.clamped) { dgamma[k] = 0.f; dbeta[k] = 0.f; return; }
  const float a = mx[k], b = mn[k];
  double dmx = 0, dmn = 0;
  if (sym) {
    const double dabs = (double)dh / ((1 << (bits - 1)) - 1);
    const float am = fabsf(q.mxc), an = fabsf(q.mnc);
    const double share = am == an ? 0.5 : 1.0;
    if (am >= an) dmx = share * dabs * (a > 0.f ? 1.0 : a < 0.f ? -1.0 : 0.0);
    if (an >= am) dmn = share * dabs * (b > 0.f ? 1.0 : b < 0.f ? -1.0 : 0.0);
  } else {
    dmx = (double)dh / qmax;
    dmn = -(double)dh / qmax;
  }
  dgamma[k] = (float)(dmx * a * q.sg * (1.0 - q.sg));
  dbeta[k] = (float)(dmn * b * q.sb * (1.0 - q.sb));
}

// dW [groups·g] (written) from dŴ: autograd of the quantizer w.r.t. its input W (src/passes/omniquant/lwc.ts inputGrad,
// needed when LET moves W): dŴ where 0 ≤ t ≤ 2^N−1 (round_ste), plus the scale's gradient routed through the group's
// max and min (xmax' = σ(γ)·max W, xmin' = σ(β)·min W; ties split evenly, as torch's amax/amin). May not alias dwq.
extern "C" __global__ void lwc_input_grad(float* __restrict__ dw, const float* __restrict__ dwq, const float* __restrict__ w, const float* __restrict__ mx, const float* __restrict__ mn, const float* __restrict__ gamma, const float* __restrict__ beta, long long groups, int g, int bits, int sym) {
  const long long k = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (k >= groups) return;
  const GroupQ q = group_params(mx[k], mn[k], gamma[k], beta[k], bits, sym);
  const float qmax = (float)((1 << bits) - 1);
  const float a = mx[k], b = mn[k];
  double dh = 0.0;
  float nMax = 0.f, nMin = 0.f;
  for (int i = lane; i < g; i += 32) {
    const size_t e = (size_t)k * g + i;
    const float u = w[e] / q.h;
    const float r = rintf(u);
    const float t = r + q.z;
    const float term = t < 0.f ? -q.z : t > qmax ? qmax - q.z : r - u;
    dh += (double)dwq[e] * (double)term;
    dw[e] = (t >= 0.f && t <= qmax) ? dwq[e] : 0.f;
    if (w[e] == a) nMax += 1.f;
    if (w[e] == b) nMin += 1.f;
  }
  for (int o = 16; o > 0; o >>= 1) dh += __shfl_xor_sync(0xffffffffu, dh, o);
  nMax = warp_sum(nMax);
  nMin = warp_sum(nMin);
  if (q.clamped) return;
  double dmx = 0, dmn = 0;
  if (sym) {
    const double dabs = dh / ((1 << (bits - 1)) - 1);
    const float am = fabsf(q.mxc), an = fabsf(q.mnc);
    const double share = am == an ? 0.5 : 1.0;
    if (am >= an) dmx = share * dabs * (a > 0.f ? 1.0 : a < 0.f ? -1.0 : 0.0) * q.sg;
    if (an >= am) dmn = share * dabs * (b > 0.f ? 1.0 : b < 0.f ? -1.0 : 0.0) * q.sb;
  } else {
    dmx = dh / qmax * q.sg;
    dmn = -dh / qmax * q.sb;
  }
  __syncwarp();
  for (int i = lane; i < g; i += 32) {
    const size_t e = (size_t)k * g + i;
    float v = dw[e];
    if (w[e] == a) v = (float)((double)v + dmx / nMax);
    if (w[e] == b) v = (float)((double)v + dmn / nMin);
    dw[e] = v;
  }
}
