// cuSOLVER bindings (for the SVD-LLM / PCA work that follows) vs plain-loop oracles: syevd eigenpairs of a random
// symmetric matrix (A·v = λ·v, ascending λ, trace kept) and potrf's Cholesky factor (L·Lᵀ = A). Skips without a GPU.
// Written after the last GPU run of this session: it has not run on a GPU yet.

import { test } from "node:test";
import assert from "node:assert/strict";
import { cudaOps, noGpu, randn, seed } from "./helpers.js";

function spd(n: number, s: number): Float32Array {
  // A = B·Bᵀ/n + I: symmetric positive definite, well conditioned
  const b = randn(n * n, s);
  const a = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += b[i * n + k]! * b[j * n + k]!;
      a[i * n + j] = acc / n + (i === j ? 1 : 0);
    }
  }
  return a;
}

test("cusolverDnSsyevd and cusolverDnSpotrf", { skip: noGpu }, async () => {
  const ops = await cudaOps();
  const { loadCusolver } = await import("../../src/runtime/cuda/ffi/cusolver.js");
  const sol = loadCusolver();
  const dev = ops.dev;
  const n = 64;
  const s = seed();
  const A = spd(n, s); // symmetric: row-major = column-major
  const h = sol.create();
  const al = dev.allocator;
  const [a, w, info] = [al.alloc(n * n * 4), al.alloc(n * 4), al.alloc(4)];
  try {
    al.copyIn(a, A);
    const lw = sol.syevdBufferSize(h, n, a, w);
    const work = al.alloc(Math.max(1, lw) * 4);
    sol.syevd(h, n, a, w, work, lw, info);
    const V = new Float32Array(n * n); // column j = eigenvector j
    const lam = new Float32Array(n);
    const inf = new Int32Array(1);
    al.copyOut(V, a);
    al.copyOut(lam, w);
    al.copyOut(inf, info);
    al.free(work);
    assert.equal(inf[0], 0, `syevd devInfo ${inf[0]} (seed ${s})`);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += A[i * n + i]!;
    assert.ok(Math.abs(lam.reduce((x, y) => x + y, 0) - trace) < 1e-3 * trace, "eigenvalues must sum to the trace");
    for (let j = 1; j < n; j++) assert.ok(lam[j]! >= lam[j - 1]!, "eigenvalues ascending");
    let worst = 0;
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let k = 0; k < n; k++) av += A[i * n + k]! * V[j * n + k]!;
        worst = Math.max(worst, Math.abs(av - lam[j]! * V[j * n + i]!));
      }
    }
    // fp32 solver on a matrix with ‖A‖ ≈ 5: residuals of a few 1e-6 expected
    assert.ok(worst < 1e-4, `syevd residual ${worst.toExponential(2)} (seed ${s})`);

    al.copyIn(a, A);
    const lp = sol.potrfBufferSize(h, n, a);
    const work2 = al.alloc(Math.max(1, lp) * 4);
    sol.potrf(h, n, a, work2, lp, info);
    const Lc = new Float32Array(n * n); // column-major; lower triangle holds L
    al.copyOut(Lc, a);
    al.copyOut(inf, info);
    al.free(work2);
    assert.equal(inf[0], 0, `potrf devInfo ${inf[0]}`);
    const L = (i: number, j: number) => (i >= j ? Lc[j * n + i]! : 0);
    let err = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += L(i, k) * L(j, k);
        err = Math.max(err, Math.abs(acc - A[i * n + j]!));
      }
    }
    assert.ok(err < 1e-4, `potrf L·Lᵀ − A max ${err.toExponential(2)} (seed ${s})`);
  } finally {
    for (const p of [a, w, info]) al.free(p);
    sol.destroy(h);
  }
});
