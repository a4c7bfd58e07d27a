// Causal grouped-query flash attention on bf16 tensor cores: the FlashAttention-2 forward (Dao 2023, Algorithm 1;
// register layout as in its CUTLASS-free re-implementations): q [W·L, H·HD] fp32, k, v [W·L, KH·HD] bf16 → out fp32.
// One block = BQ query rows of one head of one window (all windows × heads in one launch); 4 warps × 16 rows. Q is
// converted to bf16 into registers once; BK-key tiles of K and V (bf16, cast once per layer by the caller) stream into
// a two-stage shared-memory ring with cp.async (tile i+1 lands while tile i is computed) and are read as mma fragments
// with ldmatrix (V with .trans);
// S = Q·Kᵀ and O += P·V run on `mma.sync.m16n8k16` (bf16 in, fp32 accumulate); the online softmax (running max and
// sum) stays in fp32 registers, and P is re-used from the S accumulators as the A operand without touching memory.
// Head h uses kv head ⌊h·KH/H⌋. Tiles wholly in a warp's future are skipped. HD (32 | HD ≤ 128) is a compile-time define.
#include "common.cuh"

#ifndef HD
#define HD 64
#endif
#define BQ 64
#define BK 64
#define NWARP 4
#define KSTR (HD + 8)  // bf16 per K / V row in shared memory: the pad makes the 8-row ldmatrix loads bank-conflict-free
#define STAGE (2 * BK * KSTR)  // bf16 per pipeline stage: K tile then V tile
// dynamic shared memory: 2 stages × STAGE bf16 (69,632 bytes at HD = 128)

// two fp32 → packed bf16x2, round to nearest even; `lo` lands in the low half (the lower-indexed element)
__device__ __forceinline__ unsigned int pack_bf16x2(float lo, float hi) {
  unsigned int d;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(hi), "f"(lo));
  return d;
}

__device__ __forceinline__ unsigned short to_bf16(float x) { return (unsigned short)(pack_bf16x2(x, 0.f) & 0xffffu); }

// c[16×8] += a[16×16] · b[16×8]; fragments as in the PTX ISA's mma.m16n8k16 layout (g = lane/4, t = lane%4):
// a: rows g, g+8 × cols 2t, 2t+1, 2t+8, 2t+9; b: rows (k) 2t, 2t+1, 2t+8, 2t+9 × col g; c: rows g, g+8 × cols 2t, 2t+1
__device__ __forceinline__ void mma_bf16_16816(float* c, const unsigned int* a, unsigned int b0, unsigned int b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// four 8×8 bf16 matrices from shared memory (lane l gives the address of row l%8 of matrix l/8); `.trans` hands each
// lane the transposed elements, which turns row-major V into the col-major B operand of P·V
__device__ __forceinline__ void ldsm_x4(unsigned int* r, const unsigned short* p) {
  const unsigned int a = (unsigned int)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n" : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}
__device__ __forceinline__ void ldsm_x4_trans(unsigned int* r, const unsigned short* p) {
  const unsigned int a = (unsigned int)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n" : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

// 16 bytes global → shared without registers; src_bytes = 0 writes zeros (keys past the window's end)
__device__ __forceinline__ void cp_async16(unsigned short* dst, const unsigned short* src, bool valid) {
  const unsigned int d = (unsigned int)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_1() { asm volatile("cp.async.wait_group 1;\n" ::); }

__device__ __forceinline__ float2 load2(const float* p, bool ok) { return ok ? *reinterpret_cast<const float2*>(p) : make_float2(0.f, 0.f); }

// grid: (ceil(L/BQ), H, W), block: NWARP·32. scaleLog2 = log2(e)/√HD (scores are taken in base 2).
extern "C" __global__ void __launch_bounds__(NWARP * 32, 2)
    attention_causal_bf16(float* __restrict__ out, const float* __restrict__ q, const unsigned short* __restrict__ k, const unsigned short* __restrict__ v,
                          int H, int KH, int L, float scaleLog2) {
  extern __shared__ __align__(16) unsigned short smem[];
  const int w = blockIdx.z, h = blockIdx.y, kvh = (h * KH) / H;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ;  // longest (last) query tiles are scheduled first
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int rw = q0 + warp * 16;  // this warp's first query row
  const int r0 = rw + g, r1 = r0 + 8;  // this thread's two query rows
  const size_t qStride = (size_t)H * HD, kStride = (size_t)KH * HD;
  const float* qb = q + (size_t)w * L * qStride + (size_t)h * HD;
  const unsigned short* kb = k + (size_t)w * L * kStride + (size_t)kvh * HD;
  const unsigned short* vb = v + (size_t)w * L * kStride + (size_t)kvh * HD;
  // K and V rows [k0, k0 + BK) into stage `st` (rows ≥ L as zeros, masked below); one cp.async group per tile
  auto load_tile = [&](int k0, int st) {
    unsigned short* ks = smem + st * STAGE;
    unsigned short* vs = ks + BK * KSTR;
    for (int i = threadIdx.x; i < BK * HD / 8; i += NWARP * 32) {
      const int r = i / (HD / 8), c = (i % (HD / 8)) * 8, key = k0 + r;
      const size_t off = (size_t)min(key, L - 1) * kStride + c;
      cp_async16(ks + r * KSTR + c, kb + off, key < L);
      cp_async16(vs + r * KSTR + c, vb + off, key < L);
    }
    cp_async_commit();
  };
  load_tile(0, 0);  // in flight while Q is read

  unsigned int qa[HD / 16][4];  // A fragments of this warp's 16×HD slice of Q, bf16
#pragma unroll
  for (int kk = 0; kk < HD / 16; kk++) {
    const int c = kk * 16 + 2 * t;
    const float2 a0 = load2(qb + (size_t)r0 * qStride + c, r0 < L), a1 = load2(qb + (size_t)r1 * qStride + c, r1 < L);
    const float2 a2 = load2(qb + (size_t)r0 * qStride + c + 8, r0 < L), a3 = load2(qb + (size_t)r1 * qStride + c + 8, r1 < L);
    qa[kk][0] = pack_bf16x2(a0.x, a0.y);
    qa[kk][1] = pack_bf16x2(a1.x, a1.y);
    qa[kk][2] = pack_bf16x2(a2.x, a2.y);
    qa[kk][3] = pack_bf16x2(a3.x, a3.y);
  }
  float o[HD / 8][4];
#pragma unroll
  for (int n = 0; n < HD / 8; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;  // running max (base-2 units) and this thread's partial sums

  const int kEnd = min(L, q0 + BQ), nTiles = (kEnd + BK - 1) / BK;
  for (int it = 0; it < nTiles; it++) {
    const int k0 = it * BK;
    const unsigned short* ks = smem + (it & 1) * STAGE;
    const unsigned short* vs = ks + BK * KSTR;
    if (it + 1 < nTiles) load_tile(k0 + BK, (it + 1) & 1);  // the other stage: free since the sync ending it-1
    else cp_async_commit();                                 // an empty group keeps "all but the newest" = tile it
    cp_async_wait_1();
    __syncthreads();
    if (k0 <= rw + 15) {  // warp-uniform: a tile wholly after this warp's last row changes nothing
      float s[BK / 8][4];
#pragma unroll
      for (int n = 0; n < BK / 8; n++) {
        s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
        // matrices l/8 = 0..3: keys n·8 + l%8, dims kk·16 + 0, 8, 16, 24 → B fragments of k-steps kk and kk+1
        const unsigned short* kp = ks + (n * 8 + (lane & 7)) * KSTR + (lane >> 3) * 8;
#pragma unroll
        for (int kk = 0; kk < HD / 16; kk += 2) {
          unsigned int b[4];
          ldsm_x4(b, kp + kk * 16);
          mma_bf16_16816(s[n], qa[kk], b[0], b[1]);
          mma_bf16_16816(s[n], qa[kk + 1], b[2], b[3]);
        }
      }
      if (k0 + BK - 1 > rw || k0 + BK > L) {  // the tile crosses the diagonal or the window's end: mask
#pragma unroll
        for (int n = 0; n < BK / 8; n++) {
#pragma unroll
          for (int j = 0; j < 2; j++) {
            const int key = k0 + n * 8 + 2 * t + j;
            if (key > r0 || key >= L) s[n][j] = -INFINITY;
            if (key > r1 || key >= L) s[n][2 + j] = -INFINITY;
          }
        }
      }
      // online softmax over the tile; a row's 8 columns per n-tile are spread over the 4 lanes of a quad.
      // Key k0 ≤ every row of this warp is never masked (k0 and q0 are multiples of 64), so each row max is finite.
      float x0 = -INFINITY, x1 = -INFINITY;
#pragma unroll
      for (int n = 0; n < BK / 8; n++) {
        x0 = fmaxf(x0, fmaxf(s[n][0], s[n][1]));
        x1 = fmaxf(x1, fmaxf(s[n][2], s[n][3]));
      }
      x0 = fmaxf(x0, __shfl_xor_sync(0xffffffffu, x0, 1));
      x0 = fmaxf(x0, __shfl_xor_sync(0xffffffffu, x0, 2));
      x1 = fmaxf(x1, __shfl_xor_sync(0xffffffffu, x1, 1));
      x1 = fmaxf(x1, __shfl_xor_sync(0xffffffffu, x1, 2));
      const float n0 = fmaxf(m0, x0 * scaleLog2), n1 = fmaxf(m1, x1 * scaleLog2);
      const float c0 = exp2f(m0 - n0), c1 = exp2f(m1 - n1);  // exp2(-inf) = 0 on the first tile
      m0 = n0;
      m1 = n1;
      float p0 = 0.f, p1 = 0.f;
#pragma unroll
      for (int n = 0; n < BK / 8; n++) {
        s[n][0] = exp2f(fmaf(s[n][0], scaleLog2, -n0));
        s[n][1] = exp2f(fmaf(s[n][1], scaleLog2, -n0));
        s[n][2] = exp2f(fmaf(s[n][2], scaleLog2, -n1));
        s[n][3] = exp2f(fmaf(s[n][3], scaleLog2, -n1));
        p0 += s[n][0] + s[n][1];
        p1 += s[n][2] + s[n][3];
      }
      l0 = l0 * c0 + p0;
      l1 = l1 * c1 + p1;
#pragma unroll
      for (int n = 0; n < HD / 8; n++) {
        o[n][0] *= c0;
        o[n][1] *= c0;
        o[n][2] *= c1;
        o[n][3] *= c1;
      }
      // O += P·V: the C fragments of S n-tiles 2kk and 2kk+1 are exactly the A fragment of key step kk
#pragma unroll
      for (int kk = 0; kk < BK / 16; kk++) {
        const unsigned int pa[4] = {pack_bf16x2(s[2 * kk][0], s[2 * kk][1]), pack_bf16x2(s[2 * kk][2], s[2 * kk][3]),
                                    pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]), pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
        // matrices l/8 = 0..3: keys kk·16 + (0, 8, 0, 8) + l%8, dims (n, n, n+1, n+1)·8, transposed on load
        const unsigned short* vp = vs + (kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7)) * KSTR + (lane >> 4) * 8;
#pragma unroll
        for (int n = 0; n < HD / 8; n += 2) {
          unsigned int b[4];
          ldsm_x4_trans(b, vp + n * 8);
          mma_bf16_16816(o[n], pa, b[0], b[1]);
          mma_bf16_16816(o[n + 1], pa, b[2], b[3]);
        }
      }
    }
    __syncthreads();
  }
  l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
  l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
  const float i0 = 1.f / l0, i1 = 1.f / l1;
  float* ob = out + (size_t)w * L * qStride + (size_t)h * HD;
#pragma unroll
  for (int n = 0; n < HD / 8; n++) {
    const int c = n * 8 + 2 * t;
    if (r0 < L) *reinterpret_cast<float2*>(ob + (size_t)r0 * qStride + c) = make_float2(o[n][0] * i0, o[n][1] * i0);
    if (r1 < L) *reinterpret_cast<float2*>(ob + (size_t)r1 * qStride + c) = make_float2(o[n][2] * i1, o[n][3] * i1);
  }
}
