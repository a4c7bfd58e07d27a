// The CUDA backend's optional fused ops (src/runtime/cuda/fused.ts: linearMany, mlp, moeExperts with device-side MoE
// dispatch) vs the CPU oracle composed from the primitive references, and in bf16 mode vs the primitive CUDA ops on
// the same bf16-rounded inputs. Skips without a GPU.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { add, rmsnorm, swiglu } from "../../src/runtime/cpu/reference/elementwise.js";
import { linear } from "../../src/runtime/cpu/reference/linear.js";
import { gatherRows, route, scatterAddRows } from "../../src/runtime/cpu/reference/routing.js";
import type { CudaOps, CudaTensor } from "../../src/runtime/cuda/ops.js";
import type { MlpWeights } from "../../src/runtime/ops.js";
import { compare, cudaOps, fmtErr, noGpu, randn, seed } from "./helpers.js";

const opts = { skip: noGpu };
const lines: string[] = [];

interface HostMlp {
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
}

/** x [M, D] → down(silu(x·gateᵀ) ⊙ x·upᵀ) [M, D], in double-accumulated fp32 references */
const mlpRef = (x: Float32Array, m: HostMlp, M: number, D: number, F: number) => linear(swiglu(linear(x, m.gate, M, D, F), linear(x, m.up, M, D, F)), m.down, M, F, D);

/** The oracle of moeExperts: route, then per expert (ascending) gather → MLP → weighted scatter-add into zeros. */
function moeRef(x: Float32Array, logits: Float32Array, ex: HostMlp[], S: number, D: number, F: number, k: number, renorm: boolean): Float32Array {
  const { experts, weights } = route(logits, S, ex.length, k, renorm);
  const out = new Float32Array(S * D);
  for (let e = 0; e < ex.length; e++) {
    const rows: number[] = [];
    const scale: number[] = [];
    experts.forEach((v, i) => v === e && (rows.push(Math.floor(i / k)), scale.push(weights[i]!)));
    if (rows.length === 0) continue;
    const idx = Int32Array.from(rows);
    scatterAddRows(out, mlpRef(gatherRows(x, D, idx), ex[e]!, rows.length, D, F), D, idx, Float32Array.from(scale));
  }
  return out;
}

async function uploadMlp(ops: CudaOps, m: HostMlp, D: number, F: number): Promise<MlpWeights<CudaTensor>> {
  return { gate: await ops.upload(m.gate, [F, D]), up: await ops.upload(m.up, [F, D]), down: await ops.upload(m.down, [D, F]) };
}

const hostMlp = (D: number, F: number, s: number): HostMlp => ({ gate: randn(F * D, s, 0.08), up: randn(F * D, s + 1, 0.08), down: randn(D * F, s + 2, 0.08) });

// [S, D, F, E, k, renormalise]: S small enough that some experts get no token; k = 3 without renormalisation
const MOE_CASES = [[300, 96, 160, 8, 2, true], [5, 64, 128, 8, 2, true], [257, 128, 96, 4, 3, false]] as const;
for (const [S, D, F, E, k, renorm] of MOE_CASES) {
  test(`moeExperts fp32 (device dispatch) = CPU oracle: S=${S} D=${D} F=${F} E=${E} top-${k}${renorm ? " renormalised" : ""}`, opts, async () => {
    const ops = await cudaOps(); // gemm fp32
    const s = seed();
    const x = randn(S * D, s);
    const logits = randn(S * E, s + 1, 2);
    const ex = Array.from({ length: E }, (_, e) => hostMlp(D, F, s + 10 + 3 * e));
    const [tx, tl] = [await ops.upload(x, [S, D]), await ops.upload(logits, [S, E])];
    const te = await Promise.all(ex.map((m) => uploadMlp(ops, m, D, F)));
    const y = await ops.moeExperts(tx, tl, te, k, renorm);
    const e = compare(await ops.download(y), moeRef(x, logits, ex, S, D, F, k, renorm));
    lines.push(`moeExperts fp32 S=${S} E=${E} k=${k}: ${fmtErr(e)} seed ${s}`);
    // three chained fp32 GEMMs (summation order differs from the double-accumulated oracle: ~√K·ε each) and expf
    assert.ok(e.relMax < 2e-5, `moeExperts (seed ${s}): ${fmtErr(e)}`);
    for (const t of [tx, tl, y, ...te.flatMap((m) => [m.gate, m.up, m.down])]) ops.free(t);
  });
}

test("moeExperts and mlp / linearMany in bf16 mode = the primitive CUDA ops in bf16 mode", opts, async () => {
  const base = await cudaOps();
  const { CudaOps } = await import("../../src/runtime/cuda/ops.js");
  const ops = new CudaOps(base.dev, { gemm: "bf16" });
  const s = seed();
  const [S, D, F, E, k] = [333, 128, 192, 8, 2];
  const x = randn(S * D, s);
  const logits = randn(S * E, s + 1, 2);
  const ex = Array.from({ length: E }, (_, e) => hostMlp(D, F, s + 10 + 3 * e));
  const [tx, tl] = [await ops.upload(x, [S, D]), await ops.upload(logits, [S, E])];
  const te = await Promise.all(ex.map((m) => uploadMlp(ops, m, D, F)));
  // the primitive path: host routing, per-expert gather, linear/swiglu/linear, scatter-add (each GEMM casts its input)
  const { experts, weights } = await ops.route(tl, k, true);
  const want = await ops.zeros([S, D]);
  for (let e = 0; e < E; e++) {
    const rows: number[] = [];
    const scale: number[] = [];
    experts.forEach((v, i) => v === e && (rows.push(Math.floor(i / k)), scale.push(weights[i]!)));
    if (rows.length === 0) continue;
    const idx = Int32Array.from(rows);
    const xe = await ops.gatherRows(tx, idx);
    const [g, u] = [await ops.linear(xe, te[e]!.gate), await ops.linear(xe, te[e]!.up)];
    const h = await ops.swiglu(g, u);
    const ye = await ops.linear(h, te[e]!.down);
    await ops.scatterAddRows(want, ye, idx, Float32Array.from(scale));
    for (const t of [xe, g, u, h, ye]) ops.free(t);
  }
  const got = await ops.moeExperts(tx, tl, te, k, true);
  // the same bf16-rounded GEMM inputs on both sides (the fused casts round to nearest even like cast_f32_bf16);
  // only cuBLAS's choice of kernel for a different M may reorder the fp32 accumulation
  const e = compare(await ops.download(got), await ops.download(want));
  lines.push(`moeExperts bf16 vs primitive bf16: ${fmtErr(e)} seed ${s}`);
  assert.ok(e.relMax < 1e-5, `moeExperts bf16 (seed ${s}): ${fmtErr(e)}`);
  // dense MLP and linearMany
  const m0 = await ops.mlp(tx, te[0]!);
  const [g, u] = [await ops.linear(tx, te[0]!.gate), await ops.linear(tx, te[0]!.up)];
  const h = await ops.swiglu(g, u);
  const m1 = await ops.linear(h, te[0]!.down);
  const em = compare(await ops.download(m0), await ops.download(m1));
  lines.push(`mlp bf16 vs primitive bf16: ${fmtErr(em)} seed ${s}`);
  assert.ok(em.relMax < 1e-5, `mlp bf16 (seed ${s}): ${fmtErr(em)}`);
  const bias = await ops.upload(randn(F, s + 3), [F]);
  const many = await ops.linearMany(tx, [{ w: te[1]!.gate, bias }, { w: te[2]!.up }]);
  const one = [await ops.linear(tx, te[1]!.gate, bias), await ops.linear(tx, te[2]!.up)];
  for (let i = 0; i < 2; i++) assert.deepEqual(await ops.download(many[i]!), await ops.download(one[i]!), `linearMany[${i}] (seed ${s})`);
  for (const t of [tx, tl, want, got, m0, g, u, h, m1, bias, ...many, ...one, ...te.flatMap((m) => [m.gate, m.up, m.down])]) ops.free(t);
  assert.equal(ops.memory().liveTensors, 0, "tensors leaked");
});

test("addRmsnorm = add then rmsnorm, bit for bit, and = the CPU oracle", opts, async () => {
  const ops = await cudaOps();
  const s = seed();
  const [S, D] = [129, 4096 + 96];
  const [a, b, w] = [randn(S * D, s, 3), randn(S * D, s + 1), randn(D, s + 2)];
  const [ta, tb, tw] = [await ops.upload(a, [S, D]), await ops.upload(b, [S, D]), await ops.upload(w, [D])];
  const [h, y] = await ops.addRmsnorm(ta, tb, tw, 1e-5);
  const h2 = await ops.add(ta, tb);
  const y2 = await ops.rmsnorm(h2, tw, 1e-5);
  assert.deepEqual(await ops.download(h), await ops.download(h2), `sum (seed ${s})`);
  assert.deepEqual(await ops.download(y), await ops.download(y2), `normed (seed ${s})`);
  const e = compare(await ops.download(y), rmsnorm(add(a, b), w, S, D, 1e-5));
  lines.push(`addRmsnorm vs CPU oracle: ${fmtErr(e)} seed ${s}`);
  assert.ok(e.relMax < 2e-6, `addRmsnorm (seed ${s}): ${fmtErr(e)}`); // as the rmsnorm parity test
  for (const t of [ta, tb, tw, h, y, h2, y2]) ops.free(t);
});

after(async () => {
  if (noGpu) return;
  for (const l of lines) console.log(l);
  const ops = await cudaOps();
  assert.equal(ops.dev.allocator.stats().inUse, 0, "device bytes still allocated (scratch of the fused ops?)");
  await ops.dispose();
});
