// Eigen solver and streaming PCA against constructed oracles: A = Q·diag(λ)·Qᵀ with known λ, and a
// brute-force fp64 covariance computed in the test from the whole data set at once.

import { test } from "node:test";
import assert from "node:assert/strict";
import { symmetricEigen } from "../../src/passes/embed/eigen.js";
import { CovarianceAccumulator, componentsFor, fitPca, pcaProject, pcaReconstruct, rowBatches } from "../../src/passes/embed/pca.js";
import { rng as sharedRng } from "../helpers/random.js";

/** uniform [0, 1) from the shared seeded generator */
function rng(seed: number): () => number {
  const u = sharedRng(seed);
  return () => u() + 0.5;
}
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());

/** Random orthogonal Q [n, n] (rows) by Gram–Schmidt on Gaussian rows. */
function randomOrthogonal(n: number, r: () => number): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) q[i * n + j] = gauss(r);
    for (let p = 0; p < i; p++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += q[i * n + j]! * q[p * n + j]!;
      for (let j = 0; j < n; j++) q[i * n + j]! -= dot * q[p * n + j]!;
    }
    let nrm = 0;
    for (let j = 0; j < n; j++) nrm += q[i * n + j]! ** 2;
    for (let j = 0; j < n; j++) q[i * n + j]! /= Math.sqrt(nrm);
  }
  return q;
}

test("symmetricEigen recovers λ and eigenvectors of Q·diag(λ)·Qᵀ (n = 1, 2, 7, 60; repeated λ)", () => {
  for (const [n, seed] of [[1, 1], [2, 2], [7, 3], [60, 4]] as const) {
    const r = rng(seed);
    const q = randomOrthogonal(n, r);
    const lam = Array.from({ length: n }, (_, i) => (i === 1 && n > 2 ? 5 : 10 * r() - 3)); // includes negatives
    if (n > 3) lam[2] = lam[1]!; // a repeated eigenvalue
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < n; p++) s += q[p * n + i]! * lam[p]! * q[p * n + j]!;
      a[i * n + j] = s;
    }
    const { values, vectors } = symmetricEigen(a, n);
    const sorted = [...lam].sort((x, y) => y - x);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(values[i]! - sorted[i]!) < 1e-9, `n=${n} λ${i}: ${values[i]} vs ${sorted[i]}`);
    for (let i = 0; i < n; i++) {
      // A v = λ v and unit norm; rows mutually orthogonal
      let res = 0;
      for (let x = 0; x < n; x++) {
        let av = 0;
        for (let y = 0; y < n; y++) av += a[x * n + y]! * vectors[i * n + y]!;
        res = Math.max(res, Math.abs(av - values[i]! * vectors[i * n + x]!));
      }
      assert.ok(res < 1e-9, `n=${n} residual ${res}`);
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let x = 0; x < n; x++) dot += vectors[i * n + x]! * vectors[j * n + x]!;
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-9, `n=${n} v${i}·v${j} = ${dot}`);
      }
    }
  }
});

test("streaming covariance over batches equals the whole-data fp64 covariance", async () => {
  const n = 997, d = 24, r = rng(7);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = 3 + (j + 1) * 0.1 * gauss(r) + (j % 3 === 0 ? x[i * d] ?? 0 : 0);
  const acc = new CovarianceAccumulator(d);
  for (const b of rowBatches(x, d, 128)) await acc.add(b, b.length / d);
  const { mean, cov } = acc.finish();
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j]! += x[i * d + j]! / n;
  for (let a = 0; a < d; a++) {
    assert.ok(Math.abs(mean[a]! - mu[a]!) < 1e-5, `mean ${a}`);
    for (let b = 0; b < d; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += (x[i * d + a]! - mu[a]!) * (x[i * d + b]! - mu[b]!);
      const want = s / (n - 1);
      assert.ok(Math.abs(cov[a * d + b]! - want) < 1e-4 * (1 + Math.abs(want)), `cov[${a},${b}] ${cov[a * d + b]} vs ${want}`);
    }
  }
});

test("PCA on data with a known low-rank structure: axes span it, projection round-trips", async () => {
  const n = 2000, d = 16, k = 3, r = rng(11);
  const q = randomOrthogonal(d, r); // true axes = first 3 rows, std 10/5/2, plus tiny noise
  const std = [10, 5, 2];
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = std.map((s) => s * gauss(r));
    for (let j = 0; j < d; j++) x[i * d + j] = 1.5 + c[0]! * q[j]! + c[1]! * q[d + j]! + c[2]! * q[2 * d + j]! + 1e-3 * gauss(r);
  }
  const p = await fitPca(rowBatches(x, d, 300), d, k);
  for (let a = 0; a < k; a++) {
    let dot = 0;
    for (let j = 0; j < d; j++) dot += p.basis[a * d + j]! * q[a * d + j]!;
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-3, `axis ${a}: |cos| = ${Math.abs(dot)}`);
    assert.ok(Math.abs(Math.sqrt(p.variances[a]!) / std[a]! - 1) < 0.08, `std ${a}: ${Math.sqrt(p.variances[a]!)}`);
  }
  const y = await pcaProject(p, x, n);
  const xh = await pcaReconstruct(p.basis, p.mean, y, n, k, d);
  let err = 0, tot = 0;
  for (let i = 0; i < n * d; i++) { err += (xh[i]! - x[i]!) ** 2; tot += (x[i]! - 1.5) ** 2; }
  assert.ok(err / tot < 1e-6, `relative reconstruction error ${err / tot}`);
  // projection of one row by hand: (x − mean)·axis
  let y0 = 0;
  for (let j = 0; j < d; j++) y0 += (x[j]! - p.mean[j]!) * p.basis[j]!;
  assert.ok(Math.abs(y[0]! - y0) < 1e-3, `y[0,0] ${y[0]} vs ${y0}`);
  assert.equal(componentsFor(0.5, 384), 192);
  assert.equal(componentsFor(0.25, 10), 2); // Python round(2.5) = 2 (half to even)
  assert.equal(componentsFor(0.75, 10), 8); // round(7.5) = 8
});
