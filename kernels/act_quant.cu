// Per-token dynamic asymmetric activation fake-quant (OmniQuant quantize/quantizer.py UniformAffineQuantizer,
// dynamic_method "per_token"), the eval side of `--abits`: one block per row of `len` values (a token, or a token's
// head); h = clamp((max − min)/qmax, 1e-5, 1e4), z = rint(clamp(−min/h, ±1e4)), y = (clamp(rint(x/h) + z, 0, qmax) − z)·h.
// IEEE division and rintf (round half to even) so it matches src/runtime/cpu/reference/act-quant.ts bit for bit.
#include "common.cuh"

extern "C" __global__ void act_quant_rows(float* __restrict__ y, const float* __restrict__ x, int rows, int len, float qmax) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  if (r >= rows) return;
  const float* xr = x + (size_t)r * len;
  float mx = -INFINITY, nmn = -INFINITY;
  for (int i = threadIdx.x; i < len; i += blockDim.x) {
    mx = fmaxf(mx, xr[i]);
    nmn = fmaxf(nmn, -xr[i]);
  }
  mx = block_max(mx, scratch);
  const float mn = -block_max(nmn, scratch);
  const float h = fminf(fmaxf(__fdiv_rn(__fsub_rn(mx, mn), qmax), 1e-5f), 1e4f);
  const float z = rintf(fminf(fmaxf(__fdiv_rn(-mn, h), -1e4f), 1e4f));
  float* yr = y + (size_t)r * len;
  for (int i = threadIdx.x; i < len; i += blockDim.x) {
    const float q = fminf(fmaxf(rintf(__fdiv_rn(xr[i], h)) + z, 0.f), qmax);
    yr[i] = __fmul_rn(q - z, h);
  }
}
