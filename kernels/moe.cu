// MoE routing: logits [S, E] → softmax (fp32) → top-k (ties → lower index, as torch.topk) → optional renormalisation.
// experts [S, k] int32, weights [S, k] fp32. One thread per token; E ≤ 1024, k ≤ 16.
#include "common.cuh"

extern "C" __global__ void route_topk(int* __restrict__ experts, float* __restrict__ weights, const float* __restrict__ logits, int S, int E, int K, int renorm) {
  const int s = blockIdx.x * blockDim.x + threadIdx.x;
  if (s >= S) return;
  const float* z = logits + (size_t)s * E;
  float mx = -INFINITY;
  for (int e = 0; e < E; e++) mx = fmaxf(mx, z[e]);
  float sum = 0.f;
  for (int e = 0; e < E; e++) sum += expf(z[e] - mx);
  unsigned int taken[32] = {0};  // bitset over ≤ 1024 experts
  float picked = 0.f;
  for (int j = 0; j < K; j++) {
    int best = -1;
    float bv = -INFINITY;
    for (int e = 0; e < E; e++) {
      if (taken[e >> 5] & (1u << (e & 31))) continue;
      if (best < 0 || z[e] > bv) { best = e; bv = z[e]; }
    }
    taken[best >> 5] |= 1u << (best & 31);
    const float p = expf(bv - mx) / sum;
    experts[(size_t)s * K + j] = best;
    weights[(size_t)s * K + j] = p;
    picked += p;
  }
  if (renorm)
    for (int j = 0; j < K; j++) weights[(size_t)s * K + j] /= picked;
}
