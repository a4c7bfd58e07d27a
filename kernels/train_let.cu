// LET (learnable equivalent transformation) on the device: the math of src/passes/omniquant/let.ts (OmniQuant
// models/int_llama_layer.py smooth_and_quant_temporary, models/transformation.py smooth_ln_fcs / smooth_fc_fc /
// smooth_q_k, utils.truncate_number). Arithmetic in double as the JS oracle does, fp32 storage, so the transformed
// weights are bit-identical to letTransform's. GQA: a query-side channel r maps to kv channel
// kv(r) = ⌊⌊r/Dh⌋·KH/H⌋·Dh + r mod Dh (let.ts kvChannel); map = 0 means the identity.
#include "common.cuh"

#define GRID_LOOP(t, n) for (long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x; t < (n); t += (long long)gridDim.x * blockDim.x)

struct KvMap { int on, Dh, H, KH; };

__device__ __forceinline__ int kv_of(int r, KvMap m) {
  if (!m.on) return r;
  return ((r / m.Dh) * m.KH / m.H) * m.Dh + r % m.Dh;
}

// utils.truncate_number in place: |s| < thr → sign(s)·thr (sign(0) = 0, as torch.sign / Math.sign)
extern "C" __global__ void let_truncate(float* s, long long n, float thr) {
  GRID_LOOP(i, n) {
    const float v = s[i];
    if (fabsf(v) < thr) s[i] = v > 0.f ? thr : v < 0.f ? -thr : 0.f;
  }
}

// out[r, c] = (w[r, c]·cs[cmap(c)]) (· or /) rs[rmap(r)]; cs or rs null = 1; rdiv: divide by the row scale
extern "C" __global__ void let_scale(float* __restrict__ out, const float* __restrict__ w, int rows, int cols,
                                     const float* __restrict__ cs, int cmapOn, const float* __restrict__ rs, int rmapOn, int rdiv,
                                     int Dh, int H, int KH) {
  const KvMap cm = {cmapOn, Dh, H, KH}, rm = {rmapOn, Dh, H, KH};
  GRID_LOOP(e, (long long)rows * cols) {
    const int r = (int)(e / cols), c = (int)(e % cols);
    double v = (double)w[e];
    if (cs) v = v * (double)cs[kv_of(c, cm)];
    if (rs) v = rdiv ? v / (double)rs[kv_of(r, rm)] : v * (double)rs[kv_of(r, rm)];
    out[e] = (float)v;
  }
}

// acc[c] += Σ_r g[r, c]·w[r, c] (· or /) rs[rmap(r)] (rs null = 1); one thread per column, rows in order, double sum
extern "C" __global__ void let_colsum(float* __restrict__ acc, const float* __restrict__ g, const float* __restrict__ w, int rows, int cols,
                                      const float* __restrict__ rs, int rmapOn, int rdiv, int Dh, int H, int KH) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const KvMap rm = {rmapOn, Dh, H, KH};
  double s = 0.0;
  for (int r = 0; r < rows; r++) {
    const size_t e = (size_t)r * cols + c;
    double v = (double)g[e] * (double)w[e];
    if (rs) v = rdiv ? v / (double)rs[kv_of(r, rm)] : v * (double)rs[kv_of(r, rm)];
    s += v;
  }
  acc[c] = (float)((double)acc[c] + s);
}

// out[r] = Σ_c g[r, c]·w[r, c]·cs[c] (double); one warp per row
extern "C" __global__ void let_rowdot(double* __restrict__ out, const float* __restrict__ g, const float* __restrict__ w, const float* __restrict__ cs, int rows, int cols) {
  const long long r = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (r >= rows) return;
  double s = 0.0;
  for (int c = lane; c < cols; c += 32) {
    const size_t e = (size_t)r * cols + c;
    s += (double)g[e] * (double)w[e] * (double)cs[c];
  }
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  if (lane == 0) out[r] = s;
}

// norm' = norm / s: dL/ds[c] += −g[c]·norm[c]/s[c]²
extern "C" __global__ void let_norm_grad(float* __restrict__ acc, const float* __restrict__ g, const float* __restrict__ norm, const float* __restrict__ s, int n) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= n) return;
  const double sc = s[c];
  acc[c] = (float)((double)acc[c] + (-(double)g[c] * (double)norm[c]) / (sc * sc));
}

// kv-channel grads, one thread per kv channel j (KH·Dh), from the row dots of q (rq [H·Dh], Σ_c gq·q·s_qkv),
// k (rk), v (rv) and the column sums of o (co [H·Dh], Σ_r go·o):
//   dqkt[j] = rk[j] − Σ_{r: kv(r) = j} rq[r] / qkt[j]²;   dout[j] = −rv[j] / out[j]² + Σ_{c: kv(c) = j} co[c]
extern "C" __global__ void let_kv_grads(float* __restrict__ dqkt, float* __restrict__ dout, const double* __restrict__ rq, const double* __restrict__ rk,
                                        const double* __restrict__ rv, const float* __restrict__ co, const float* __restrict__ qkt, const float* __restrict__ out,
                                        int Dh, int H, int KH) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= KH * Dh) return;
  const KvMap m = {1, Dh, H, KH};
  const double sj = qkt[j], so = out[j];
  double aq = 0.0, ao = 0.0;
  for (int r = 0; r < H * Dh; r++) {
    if (kv_of(r, m) != j) continue;
    aq += rq[r];
    ao += (double)co[r];
  }
  dqkt[j] = (float)(rk[j] - aq / (sj * sj));
  dout[j] = (float)(-rv[j] / (so * so) + ao);
}

// per-channel running max of |x| over the rows of x [rows, cols] (generate_act_scale_shift.py; let.ts accumulateAbsMax)
extern "C" __global__ void absmax_cols(float* __restrict__ acc, const float* __restrict__ x, int rows, int cols) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float m = acc[c];
  for (int r = 0; r < rows; r++) m = fmaxf(m, fabsf(x[(size_t)r * cols + c]));
  acc[c] = m;
}
