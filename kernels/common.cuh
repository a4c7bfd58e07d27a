// Shared device helpers for memc's kernels (inlined into each kernel's source before NVRTC compiles it).
#pragma once

#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide sum/max for blockDim.x a multiple of 32 (≤ 1024); every thread gets the result.
__device__ __forceinline__ float block_sum(float v, float* scratch /* [32] */) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nw ? scratch[lane] : 0.f;
  return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch /* [32] */) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nw ? scratch[lane] : -INFINITY;
  return warp_max(v);
}

// A row softmax's max and 1/Σ exp(z − max) over z[0, valid), one block per row (softmax.cu, train_softmax.cu)
struct RowSoftmax {
  float mx, inv;
};
__device__ __forceinline__ RowSoftmax row_softmax_stats(const float* z, int valid, float* scratch /* [32] */) {
  float mx = -INFINITY;
  for (int c = threadIdx.x; c < valid; c += blockDim.x) mx = fmaxf(mx, z[c]);
  mx = block_max(mx, scratch);
  float sum = 0.f;
  for (int c = threadIdx.x; c < valid; c += blockDim.x) sum += expf(z[c] - mx);
  sum = block_sum(sum, scratch);
  return {mx, 1.f / sum};
}
