// Training RoPE (rotate-half, transformers apply_rotary_pos_emb) in place on x [T, H·Dh] with a host-made cos/sin
// table [T, Dh/2] (src/nn/train/rope.ts ropeTable, so both sides use the same fp32 angles). inverse = 1 rotates by
// −angle: the backward (the rotation's transpose).
extern "C" __global__ void rope_inplace(float* __restrict__ x, const float* __restrict__ cosT, const float* __restrict__ sinT, int T, int H, int Dh, int inverse) {
  const int half = Dh / 2;
  const long long n = (long long)T * H * half;
  for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < n; idx += (long long)gridDim.x * blockDim.x) {
    const int i = (int)(idx % half);
    const long long th = idx / half;
    const int t = (int)(th / H);
    const size_t o = (size_t)th * Dh;
    const float c = cosT[(size_t)t * half + i];
    const float s = inverse ? -sinT[(size_t)t * half + i] : sinT[(size_t)t * half + i];
    const float a = x[o + i];
    const float b = x[o + i + half];
    x[o + i] = a * c - b * s;
    x[o + i + half] = b * c + a * s;
  }
}
