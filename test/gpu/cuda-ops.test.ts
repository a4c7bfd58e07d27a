// Every CUDA kernel vs its CPU reference (src/runtime/cpu/reference) on fresh seeded random inputs, per-op thresholds.
// Skips with the reason when no GPU is usable. Run: npm run test:gpu (or node --test dist/test/gpu/).

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { add, rmsnorm, rope, sigmoidGate, swiglu } from "../../src/runtime/cpu/reference/elementwise.js";
import { attention, linear, nll } from "../../src/runtime/cpu/reference/linear.js";
import { embedding, gatherRows, route, scatterAddRows } from "../../src/runtime/cpu/reference/routing.js";
import { bf16ToF32, f32ToBf16 } from "../../src/runtime/dtypes.js";
import { compare, cudaOps, fmtErr, measured, noGpu, randInts, randn, seed } from "./helpers.js";

const opts = { skip: noGpu };

/** Asserts err.relMax ≤ tol and records it; `why` says where the tolerance comes from. */
function expectClose(op: string, s: number, got: Float32Array, want: Float32Array | Float64Array, tol: number, why: string): void {
  const e = compare(got, want);
  measured.push({ op, seed: s, err: fmtErr(e) });
  assert.ok(e.relMax <= tol, `${op} (seed ${s}): ${fmtErr(e)} > ${tol} (${why})`);
}

test("embedding gather is exact", opts, async () => {
  const ops = await cudaOps();
  const s = seed();
  const [V, D, S] = [1000, 96, 333];
  const table = randn(V * D, s);
  const ids = randInts(S, V, s + 1);
  const t = await ops.upload(table, [V, D]);
  const y = await ops.embedding(t, ids);
  expectClose("embedding", s, await ops.download(y), embedding(table, D, ids), 0, "a copy");
  ops.free(t);
  ops.free(y);
});

test("rmsnorm", opts, async () => {
  const ops = await cudaOps();
  const s = seed();
  const [S, D] = [257, 384];
  const x = randn(S * D, s, 3);
  const w = randn(D, s + 1);
  const [tx, tw] = [await ops.upload(x, [S, D]), await ops.upload(w, [D])];
  const y = await ops.rmsnorm(tx, tw, 1e-5);
  expectClose("rmsnorm", s, await ops.download(y), rmsnorm(x, w, S, D, 1e-5), 2e-6, "fp32 sum of squares in another order: a few ulp");
  for (const z of [tx, tw, y]) ops.free(z);
});

for (const [H, Dh, L] of [[6, 64, 128], [4, 32, 100], [2, 128, 64]] as const) {
  test(`rope rotate-half H=${H} Dh=${Dh} L=${L}`, opts, async () => {
    const ops = await cudaOps();
    const s = seed();
    const rows = 3 * L;
    const x = randn(rows * H * Dh, s);
    const tx = await ops.upload(x, [rows, H * Dh]);
    const y = await ops.rope(tx, H, Dh, 10000, L);
    // cosf/sinf/powf vs Math.cos/sin/** on the same fp32 angle: ≤ 2 ulp each
    expectClose(`rope(Dh=${Dh})`, s, await ops.download(y), rope(x, rows, H, Dh, 10000, L), 2e-6, "fp32 libm vs double libm, 1–2 ulp");
    ops.free(tx);
    ops.free(y);
  });
}

test("rope interleaved = rotate-half on de-interleaved columns", opts, async () => {
  const ops = await cudaOps();
  const s = seed();
  const [H, Dh, L] = [4, 64, 96];
  const rows = 2 * L;
  const x = randn(rows * H * Dh, s);
  // the interleaved layout pairs (2i, 2i+1); permute each head to (evens, odds) for the rotate-half oracle and back
  const perm = (src: Float32Array, toHalf: boolean) => {
    const out = new Float32Array(src.length);
    for (let r = 0; r < rows * H; r++) {
      for (let i = 0; i < Dh / 2; i++) {
        const [a, b] = [r * Dh + 2 * i, r * Dh + 2 * i + 1];
        const [c, d] = [r * Dh + i, r * Dh + i + Dh / 2];
        if (toHalf) [out[c], out[d]] = [src[a]!, src[b]!];
        else [out[a], out[b]] = [src[c]!, src[d]!];
      }
    }
    return out;
  };
  const want = perm(rope(perm(x, true), rows, H, Dh, 10000, L), false);
  const tx = await ops.upload(x, [rows, H * Dh]);
  const y = await ops.ropeInterleaved(tx, H, Dh, 10000, L);
  expectClose("rope-interleaved", s, await ops.download(y), want, 2e-6, "as rotate-half");
  ops.free(tx);
  ops.free(y);
});

/** x rounded to bf16 and back (the oracle's view of what a bf16 GEMM multiplies). */
const bf16Round = (x: Float32Array) => Float32Array.from(x, (v) => bf16ToF32(f32ToBf16(v)));

for (const mode of ["fp32", "tf32", "bf16"] as const) {
  test(`linear (cuBLAS ${mode}) with bias, K and N not multiples of 64`, opts, async () => {
    const base = await cudaOps();
    const { CudaOps } = await import("../../src/runtime/cuda/ops.js");
    const ops = mode === "fp32" ? base : new CudaOps(base.dev, { gemm: mode });
    const s = seed();
    const [M, K, N] = [300, 352, 130];
    const x = randn(M * K, s);
    const w = randn(N * K, s + 1, 0.05);
    const b = randn(N, s + 2);
    const [tx, tw, tb] = [await ops.upload(x, [M, K]), await ops.upload(w, [N, K]), await ops.upload(b, [N])];
    const y = await ops.linear(tx, tw, tb);
    const y2 = await ops.linear(tx, tw, tb); // second call reuses the bf16 weight shadow
    // fp32: K-long dot products summed in another order (~√K·ε); tf32 rounds inputs to 10 mantissa bits (2^-11 each);
    // bf16: the oracle multiplies the same bf16-rounded inputs, so only fp32 accumulation order differs
    const want = mode === "bf16" ? linear(bf16Round(x), bf16Round(w), M, K, N, b) : linear(x, w, M, K, N, b);
    const tol = { fp32: 2e-6, tf32: 3e-3, bf16: 2e-6 }[mode];
    expectClose(`linear-${mode}`, s, await ops.download(y), want, tol, `${mode} inputs`);
    expectClose(`linear-${mode} (2nd call)`, s, await ops.download(y2), want, tol, `${mode} inputs`);
    for (const z of [tx, tw, tb, y, y2]) ops.free(z);
  });
}

const ATT_CASES = [[6, 2, 64, 128, 2], [4, 2, 32, 100, 3], [8, 8, 128, 70, 1], [4, 1, 64, 512, 1], [8, 2, 128, 300, 2]] as const;
for (const impl of ["flash", "gemm", "gemm-tf32"] as const) {
  for (const [H, KH, Dh, L, W] of ATT_CASES) {
    test(`attention ${impl} causal GQA H=${H} KH=${KH} Dh=${Dh} L=${L} W=${W}`, opts, async () => {
      const base = await cudaOps();
      const { CudaOps } = await import("../../src/runtime/cuda/ops.js");
      const ops = new CudaOps(base.dev, { attention: impl === "flash" ? "flash" : "gemm", gemm: impl === "gemm-tf32" ? "tf32" : "fp32" });
      const s = seed();
      const rows = W * L;
      const q = randn(rows * H * Dh, s);
      const k = randn(rows * KH * Dh, s + 1);
      const v = randn(rows * KH * Dh, s + 2);
      const [tq, tk, tv] = [await ops.upload(q, [rows, H * Dh]), await ops.upload(k, [rows, KH * Dh]), await ops.upload(v, [rows, KH * Dh])];
      const y = await ops.attention(tq, tk, tv, H, KH, Dh, L);
      // fp32: online (flash) or one-pass (gemm) fp32 softmax vs a two-pass softmax in double: a few ulp.
      // tf32: Q·Kᵀ and P·V inputs rounded to 10 mantissa bits; scores of N(0,1)·N(0,1)/√Dh vectors move by ~1e-3.
      const tol = impl === "gemm-tf32" ? 1e-2 : 5e-6;
      expectClose(`attention-${impl}(Dh=${Dh},L=${L})`, s, await ops.download(y), attention(q, k, v, rows, H, KH, Dh, L), tol, impl);
      for (const z of [tq, tk, tv, y]) ops.free(z);
    });
  }
}

// bf16 tensor-core flash attention (kernels/attention_bf16.cu): L not a multiple of the 64-row tile, GQA ratios 1–4,
// head dims 32 / 64 / 128, one window and several, a long window (1000) that runs 16 key tiles per query tile.
const BF16_ATT_CASES = [...ATT_CASES, [8, 4, 32, 200, 2], [4, 4, 64, 65, 3], [8, 2, 128, 1000, 1], [12, 3, 64, 1, 4]] as const;
for (const [H, KH, Dh, L, W] of BF16_ATT_CASES) {
  test(`attention flash-bf16 (tensor cores) causal GQA H=${H} KH=${KH} Dh=${Dh} L=${L} W=${W}`, opts, async () => {
    const base = await cudaOps();
    const { CudaOps } = await import("../../src/runtime/cuda/ops.js");
    const ops = new CudaOps(base.dev, { attention: "flash-bf16", gemm: "bf16" });
    const s = seed();
    const rows = W * L;
    const q = randn(rows * H * Dh, s, 2); // σ = 2: sharper softmax rows than N(0,1), so the max-subtraction matters
    const k = randn(rows * KH * Dh, s + 1);
    const v = randn(rows * KH * Dh, s + 2);
    const [tq, tk, tv] = [await ops.upload(q, [rows, H * Dh]), await ops.upload(k, [rows, KH * Dh]), await ops.upload(v, [rows, KH * Dh])];
    const y = await ops.attention(tq, tk, tv, H, KH, Dh, L);
    const got = await ops.download(y);
    // (1) vs the oracle on the bf16-rounded Q, K, V the kernel multiplies: Q·Kᵀ products of bf16 values are exact in
    // fp32, so what is left is P rounded to bf16 before P·V (relative 2⁻⁹ per weight, fp32 row sum unrounded):
    // |Σ δp_j v_j| / Σ p_j ≤ 2⁻⁹ · max|v|. Bound: maxAbs ≤ 2⁻⁸ · max|v| (2× for fp32 exp2f/accumulation order).
    const want = attention(bf16Round(q), bf16Round(k), bf16Round(v), rows, H, KH, Dh, L);
    const e = compare(got, want);
    const vmax = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    measured.push({ op: `attention-flash-bf16(Dh=${Dh},L=${L},g=${H / KH})`, seed: s, err: fmtErr(e) });
    assert.ok(e.maxAbs <= 2 ** -8 * vmax, `attention flash-bf16 (seed ${s}): ${fmtErr(e)} > 2^-8·max|v| = ${(2 ** -8 * vmax).toExponential(2)}`);
    // (2) vs the exact fp32 oracle on the unrounded inputs: bf16 inputs (2⁻⁹ relative each) move σ=2 scores by ~1e-2
    // and the outputs by ~1% in L2; 3e-2 still fails any indexing or masking error (those are O(1)).
    const e2 = compare(got, attention(q, k, v, rows, H, KH, Dh, L));
    measured.push({ op: `attention-flash-bf16 vs fp32(Dh=${Dh},L=${L})`, seed: s, err: fmtErr(e2) });
    assert.ok(e2.relL2 <= 3e-2, `attention flash-bf16 vs fp32 oracle (seed ${s}): ${fmtErr(e2)}`);
    for (const z of [tq, tk, tv, y]) ops.free(z);
  });
}

test("swiglu and add", opts, async () => {
  const ops = await cudaOps();
  const s = seed();
  const n = 1000 * 37;
  const g = randn(n, s, 4);
  const u = randn(n, s + 1);
  const [tg, tu] = [await ops.upload(g, [1000, 37]), await ops.upload(u, [1000, 37])];
  const y = await ops.swiglu(tg, tu);
  expectClose("swiglu", s, await ops.download(y), swiglu(g, u), 1e-6, "expf vs Math.exp: 1–2 ulp");
  const z = await ops.add(tg, tu);
  expectClose("add", s, await ops.download(z), add(g, u), 0, "one fp32 add, exact");
  for (const t of [tg, tu, y, z]) ops.free(t);
});

test("route: softmax top-k, renormalised and not", opts, async () => {
  const ops = await cudaOps();
  const s = seed();
  const [S, E] = [513, 8];
  const logits = randn(S * E, s, 2);
  const t = await ops.upload(logits, [S, E]);
  for (const [k, renorm] of [[2, true], [2, false], [3, true]] as const) {
    const got = await ops.route(t, k, renorm);
    const want = route(logits, S, E, k, renorm);
    assert.deepEqual(Array.from(got.experts), Array.from(want.experts), `route k=${k} experts (seed ${s})`);
    expectClose(`route(k=${k},renorm=${renorm})`, s, got.weights, want.weights, 1e-6, "fp32 softmax vs double");
  }
  ops.free(t);
});

test("gatherRows is exact, scatterAddRows adds scaled rows", opts, async () => {
  const ops = await cudaOps();
  const s = seed();
  const [S, D, R] = [200, 130, 77];
  const x = randn(S * D, s);
  const perm = Array.from({ length: S }, (_, i) => i).sort((a, b) => ((a * 7919 + s) % 211) - ((b * 7919 + s) % 211));
  const rows = Int32Array.from(perm.slice(0, R)); // distinct, as the MoE forward produces
  const scale = randn(R, s + 1);
  const y = randn(R * D, s + 2);
  const tx = await ops.upload(x, [S, D]);
  const g = await ops.gatherRows(tx, rows);
  expectClose("gatherRows", s, await ops.download(g), gatherRows(x, D, rows), 0, "a copy");
  const ty = await ops.upload(y, [R, D]);
  await ops.scatterAddRows(tx, ty, rows, scale);
  const want = x.slice();
  scatterAddRows(want, y, D, rows, scale);
  expectClose("scatterAddRows", s, await ops.download(tx), want, 1e-7, "one fp32 FMA (fused on the GPU) per element");
  for (const t of [tx, g, ty]) ops.free(t);
});

test("sigmoidGate", opts, async () => {
  const ops = await cudaOps();
  const s = seed();
  const [S, D, F] = [100, 384, 200];
  const x = randn(S * D, s);
  const w = randn(D, s + 1, 0.05);
  const y = randn(S * F, s + 2);
  const [tx, tw, ty] = [await ops.upload(x, [S, D]), await ops.upload(w, [1, D]), await ops.upload(y, [S, F])];
  const out = await ops.sigmoidGate(tx, tw, ty);
  expectClose("sigmoidGate", s, await ops.download(out), sigmoidGate(x, w, y, S, D, F), 2e-6, "fp32 dot in another order");
  for (const t of [tx, tw, ty, out]) ops.free(t);
});

test("zeros", opts, async () => {
  const ops = await cudaOps();
  const t = await ops.zeros([33, 17]);
  assert.ok((await ops.download(t)).every((v) => v === 0));
  ops.free(t);
});

test("nll: fused lm_head + cross-entropy, chunked so several GEMM chunks run", opts, async () => {
  const base = await cudaOps();
  const { CudaOps } = await import("../../src/runtime/cuda/ops.js");
  const ops = new CudaOps(base.dev, { nllChunkBytes: 64 * 1000 * 4 }); // 64-row chunks
  const s = seed();
  const [S, D, V] = [300, 128, 1000];
  const h = randn(S * D, s);
  const w = randn(V * D, s + 1, 0.2);
  const targets = randInts(S, V, s + 2);
  const [th, tw] = [await ops.upload(h, [S, D]), await ops.upload(w, [V, D])];
  const got = await ops.nll(th, tw, targets);
  const want = nll(h, w, targets, S, D, V);
  // absolute: NLL values are O(log V + |logit|), computed in fp32 (GEMM + log-sum-exp) vs double
  const e = compare(got, want);
  measured.push({ op: "nll", seed: s, err: fmtErr(e) });
  assert.ok(e.maxAbs < 2e-4, `nll (seed ${s}): ${fmtErr(e)}`);
  ops.free(th);
  ops.free(tw);
});

test("no device memory leaks across the ops above; kernel cache hit on recompile", opts, async () => {
  const ops = await cudaOps();
  const m = ops.memory();
  assert.equal(m.liveTensors, 0, `live tensors left: ${m.liveTensors}`);
  assert.equal(m.inUse, 0, `bytes still allocated: ${m.inUse}`);
  const { kernelSource } = await import("../../src/runtime/cuda/kernels.js");
  const c = ops.dev.compiler.compile(kernelSource("rmsnorm.cu"), "rmsnorm.cu");
  assert.equal(ops.dev.allocator.stats().inUse, 0, "device bytes still allocated (scratch buffers of the ops above)");
  assert.equal(c.cached, true, "second compile of rmsnorm.cu should come from the disk cache");
});

after(async () => {
  if (noGpu) return;
  for (const m of measured) console.log(`parity ${m.op.padEnd(28)} ${m.err}  seed ${m.seed}`);
  const ops = await cudaOps();
  for (const c of ops.dev.compiles) console.log(`nvrtc ${c.file} ${c.defines || "-"}: ${c.cached ? "disk cache" : "compiled"} in ${c.ms.toFixed(0)} ms`);
  await ops.dispose();
});
