// AdamW step as torch.optim.AdamW (single-tensor path; src/passes/omniquant/adamw.ts): decoupled weight decay,
// m += (g − m)(1 − β1), v = β2·v + (1 − β2)g², p −= stepSize·m / (√v/bc2s + eps) with stepSize = lr/(1 − β1^t),
// bc2s = √(1 − β2^t); arithmetic in double as the JS oracle does, storage fp32.
extern "C" __global__ void adamw_step(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m, float* __restrict__ v, long long n, double lr, double wd, double beta1, double beta2, double eps, double stepSize, double bc2s) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    double pi = p[i];
    if (wd != 0.0) pi = (double)(float)(pi * (1.0 - lr * wd));
    const double gi = g[i];
    const float mi = (float)((double)m[i] + (gi - (double)m[i]) * (1.0 - beta1));
    const float vi = (float)((double)v[i] * beta2 + (1.0 - beta2) * gi * gi);
    m[i] = mi;
    v[i] = vi;
    p[i] = (float)(pi - stepSize * (double)mi / (sqrt((double)vi) / bc2s + eps));
  }
}
