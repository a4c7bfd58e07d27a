// Cross-entropy from a chunk of logits that never leaves the device: logits [R, V], targets [R] → nll [R]
// = logsumexp(logits[r]) − logits[r, targets[r]]; one block per row, fp32.
#include "common.cuh"

extern "C" __global__ void logsumexp_nll(float* __restrict__ nll, const float* __restrict__ logits, const int* __restrict__ targets, int R, int V) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  if (r >= R) return;
  const float* z = logits + (size_t)r * V;
  float mx = -INFINITY;
  for (int c = threadIdx.x; c < V; c += blockDim.x) mx = fmaxf(mx, z[c]);
  mx = block_max(mx, scratch);
  float sum = 0.f;
  for (int c = threadIdx.x; c < V; c += blockDim.x) sum += expf(z[c] - mx);
  sum = block_sum(sum, scratch);
  if (threadIdx.x == 0) nll[r] = logf(sum) + mx - z[targets[r]];
}
