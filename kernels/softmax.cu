// Causal row softmax for the GEMM attention path, in place: s [rows, n] scores of query rows q0 + (row mod Bq) against
// keys [0, n); keys after the row's position are masked to 0. One block per row, fp32. Pairs with the attention oracle.
#include "common.cuh"

extern "C" __global__ void causal_softmax_rows(float* __restrict__ s, int rows, int n, int Bq, int q0) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  if (r >= rows) return;
  const int valid = min(n, q0 + (r % Bq) + 1);
  float* z = s + (size_t)r * n;
  const RowSoftmax st = row_softmax_stats(z, valid, scratch);
  const float mx = st.mx, inv = st.inv;
  for (int c = threadIdx.x; c < n; c += blockDim.x) z[c] = c < valid ? expf(z[c] - mx) * inv : 0.f;
}
