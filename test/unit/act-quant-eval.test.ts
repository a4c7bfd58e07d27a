// The eval side of --abits: Ops.actQuant (cpu) against the training op's reference (src/nn/train/act-quant.ts,
// OmniQuant UniformAffineQuantizer per_token), the null backend's shape rules, config.json parsing, and that the
// runtime layer forward puts the quantizers where the training block does (block_forward with abits on llama-t's
// layer 0 = layerForward on CpuOps with spec.actBits).

import { test } from "node:test";
import assert from "node:assert/strict";
import { actquant_forward } from "../../src/nn/train/act-quant.js";
import { CpuOps } from "../../src/runtime/cpu/ops.js";
import { NullOps } from "../../src/runtime/null/ops.js";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { parseConfig } from "../../src/model/config.js";
import { actQuantConfig, ACT_QUANT_KEY } from "../../src/model/act-quant-config.js";
import { blockDims, loadBlock } from "../../src/passes/omniquant/block-weights.js";
import { block_forward } from "../../src/nn/train/block.js";
import { layerForward } from "../../src/nn/layer-forward.js";
import { rng } from "../helpers/random.js";

test("CpuOps.actQuant = the training op's forward, per token and per (token, head); 2^bits levels per row", async () => {
  const r = rng(21);
  const S = 7;
  const C = 48;
  const x = Float32Array.from({ length: S * C }, () => r() * (r() > 0.45 ? 20 : 1));
  x[5] = 0; // a row with an exact 0 and ties stays deterministic
  const ops = new CpuOps();
  for (const bits of [4, 6, 8]) {
    for (const rowLen of [C, 16]) {
      const got = await ops.download(await ops.actQuant(await ops.upload(x, [S, C]), rowLen, bits));
      const want = actquant_forward(x, (S * C) / rowLen, rowLen, bits).out;
      assert.deepEqual(got, want, `bits ${bits} rowLen ${rowLen}`);
      for (let o = 0; o < x.length; o += rowLen) assert.ok(new Set(got.subarray(o, o + rowLen)).size <= 2 ** bits);
    }
  }
  // a constant row hits the scale clamp (h = 1e-5) and must not produce NaN
  const flat = await ops.download(await ops.actQuant(await ops.upload(new Float32Array(16).fill(3), [1, 16]), 16, 4));
  assert.ok(flat.every(Number.isFinite));
});

test("NullOps.actQuant checks shapes and records a launch", async () => {
  const ops = new NullOps();
  const x = await ops.upload(new Float32Array(24), [2, 12]);
  assert.deepEqual((await ops.actQuant(x, 4, 4)).shape, [2, 12]);
  await assert.rejects(ops.actQuant(x, 5, 4), /rowLen 5 must divide/);
  await assert.rejects(ops.actQuant(x, 4, 1), /bits/);
  assert.equal(ops.summary().find((s) => s.op === "actQuant")?.launches, 1);
});

test("config.json memc_activation_quant → spec.actBits; malformed entries are refused", async () => {
  const ckpt = await openCheckpoint("../shared/fixtures/models/llama-t");
  try {
    assert.equal(ckpt.spec.actBits, undefined);
    assert.equal(parseConfig({ ...ckpt.rawConfig, [ACT_QUANT_KEY]: actQuantConfig(4) }).actBits, 4);
    assert.throws(() => parseConfig({ ...ckpt.rawConfig, [ACT_QUANT_KEY]: { ...actQuantConfig(4), symmetric: true } }), /per_token dynamic asymmetric/);
    assert.throws(() => parseConfig({ ...ckpt.rawConfig, [ACT_QUANT_KEY]: { ...actQuantConfig(4), bits: 1 } }), /bits/);
  } finally {
    await ckpt.weights.close();
  }
});

test("eval layer forward with actBits matches the training block with abits (llama-t layer 0, W·A4)", async () => {
  const ckpt = await openCheckpoint("../shared/fixtures/models/llama-t");
  try {
    const T = 64;
    const dims = blockDims(ckpt, T);
    const { w } = await loadBlock(ckpt, 0);
    const r = rng(9);
    const x = Float32Array.from({ length: T * dims.D }, () => r() * 2);
    const ops = new CpuOps();
    const up = (a: Float32Array, s: number[]) => ops.upload(a, s);
    const { D, H, KH, Dh, F } = dims;
    const l = {
      inputNorm: await up(w.inputNorm, [D]), postNorm: await up(w.postNorm, [D]),
      q: await up(w.q, [H * Dh, D]), k: await up(w.k, [KH * Dh, D]), v: await up(w.v, [KH * Dh, D]), o: await up(w.o, [D, H * Dh]),
      mlp: { gate: await up(w.mlp!.gate, [F, D]), up: await up(w.mlp!.up, [F, D]), down: await up(w.mlp!.down, [D, F]) },
    };
    const dist = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.reduce((s, v) => s + v * v, 0));
    const fp = (await block_forward(x, w, dims)).y;
    const train4 = (await block_forward(x, w, { ...dims, abits: 4 })).y;
    const eval4 = await ops.download(await layerForward(ops, { ...ckpt.spec, actBits: 4 }, l, await up(x, [T, D]), T));
    const eval8 = await ops.download(await layerForward(ops, { ...ckpt.spec, actBits: 8 }, l, await up(x, [T, D]), T));
    // same quantizers: train vs eval agree far more closely than A4 differs from fp (GEMM engines differ by ulps,
    // which can flip a rounding here and there)
    const gap = dist(train4, fp);
    assert.ok(gap > 1e-2, `A4 should change the output (relative distance to fp ${gap})`);
    assert.ok(dist(eval4, train4) < gap / 20, `eval A4 vs train A4 ${dist(eval4, train4)}, A4 vs fp ${gap}`);
    assert.ok(dist(eval8, fp) < gap, "A8 is closer to fp than A4");
  } finally {
    await ckpt.weights.close();
  }
});

test("memc quantize --method rtn --abits 4 records memc_activation_quant; eval then differs from the weight-only RTN", async () => {
  const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { validateRecipe } = await import("../../src/recipe/io.js");
  const { runRecipe } = await import("../../src/pipeline/run.js");
  const { evaluateModel } = await import("../../src/eval/evaluate.js");
  const { silent } = await import("../../src/util/events.js");
  const tmp = mkdtempSync(join(tmpdir(), "memc-rtn-abits-"));
  try {
    const ppl: number[] = [];
    for (const [name, extra] of [["w4a4", { abits: 4 }], ["w4", {}]] as const) {
      const recipe = validateRecipe({ memc: 1, model: "../shared/fixtures/models/llama-t", passes: [{ method: "rtn", params: { wbits: 4, group_size: -1, ...extra } }], output: { dir: join(tmp, name), format: "fake-quant" } }, "t");
      await runRecipe(recipe, silent);
      const cfg = JSON.parse(readFileSync(join(tmp, name, "config.json"), "utf8"));
      assert.equal(cfg[ACT_QUANT_KEY]?.bits, "abits" in extra ? 4 : undefined);
      const [r] = await evaluateModel(join(tmp, name), ["../shared/fixtures/text/eval/english-heldout.txt"], { seqlen: 128, device: "cpu", maxWindows: 4 }, silent);
      ppl.push(r!.ppl);
    }
    assert.ok(ppl[0]! > ppl[1]!, `W4A4 ppl ${ppl[0]} should be above W4A16 ppl ${ppl[1]}`);
    assert.throws(() => validateRecipe({ memc: 1, model: "m", passes: [{ method: "rtn", params: { wbits: 4, group_size: -1, abits: 5 } }], output: { dir: "o", format: "fake-quant" } }, "t"), /4, 6 or 8/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
