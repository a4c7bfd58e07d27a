// Embedding gather: table [V, D] fp32, ids [S] int32 (checked on the host) → out [S, D]. Pairs with cpu embedding.
#include "common.cuh"

extern "C" __global__ void embedding_gather(float* __restrict__ out, const float* __restrict__ table, const int* __restrict__ ids, int S, int D) {
  const int s = blockIdx.x;
  if (s >= S) return;
  const float* row = table + (size_t)ids[s] * D;
  float* o = out + (size_t)s * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) o[d] = row[d];
}
