// OmniQuant weight-activation mode end to end on llama-t (src/passes/omniquant/run.ts with abits + LET):
//  - quality: W4A4 with LET + LWC (16 windows × 256, 2 epochs) beats RTN W4A4 on held-out English perplexity, both
//    evaluated by memc eval's forward with the activation quantizers that config.json memc_activation_quant asks for;
//  - resume: LET params are saved per layer; a run stopped after 2 layers ends bit-identical to an uninterrupted one,
//    the lazy write path (quantizedTensor) rebuilds the same folded weights and norms, and a weight-only or different
//    --abits run is refused against the same state dir.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { ACT_QUANT_KEY, actQuantConfig } from "../../src/model/act-quant-config.js";
import { evaluateModel } from "../../src/eval/evaluate.js";
import { quantizedTensor, runOmniQuant, type OmniQuantOptions } from "../../src/passes/omniquant/run.js";
import { dequantizeGroups, quantizeGroups } from "../../src/passes/rtn/quantize.js";
import { writeTransformedCheckpoint } from "../../src/pipeline/write-checkpoint.js";
import { silent } from "../../src/util/events.js";
import { InputError } from "../../src/util/errors.js";

const MODEL = "../shared/fixtures/models/llama-t";
const CALIB = "../shared/fixtures/text/calib/english.txt";
const HELDOUT = "../shared/fixtures/text/eval/english-heldout.txt";

test("llama-t W4A4: OmniQuant LET + LWC perplexity < RTN W4A4 perplexity", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "memc-oq-let-quality-"));
  const ckpt = await openCheckpoint(MODEL);
  try {
    const o: OmniQuantOptions = { wbits: 4, groupSize: -1, sym: false, calib: CALIB, nsamples: 16, seqlen: 256, epochs: 2, seed: 2, lwcLr: 1e-2, abits: 4, let: true };
    const res = await runOmniQuant(ckpt, o, silent);
    for (const l of res.layers) assert.ok(l.lossAfter < l.lossBefore, `layer ${l.layer}: block MSE ${l.lossBefore} → ${l.lossAfter} did not improve`);
    assert.ok(res.weights.has("model.layers.0.input_layernorm.weight"), "LET folds into the norms");
    const rawConfig = { ...ckpt.rawConfig, [ACT_QUANT_KEY]: actQuantConfig(4) };
    mkdirSync(join(tmp, "omni"));
    mkdirSync(join(tmp, "rtn"));
    await writeTransformedCheckpoint(ckpt, join(tmp, "omni"), (n) => (res.weights.has(n) ? { dtype: "F32", compute: async () => res.weights.get(n)! } : undefined), { rawConfig });
    await writeTransformedCheckpoint(ckpt, join(tmp, "rtn"), (n) => {
      if (!res.weights.has(n) || n.endsWith("layernorm.weight")) return undefined;
      const [rows, cols] = ckpt.weights.info(n).shape as [number, number];
      return { dtype: "F32", compute: async () => dequantizeGroups(quantizeGroups(await ckpt.weights.f32(n), rows, cols, { bits: 4, groupSize: -1, sym: false })) };
    }, { rawConfig });
    const opts = { seqlen: 512, device: "cpu", maxWindows: 24 };
    const [omni] = await evaluateModel(join(tmp, "omni"), [HELDOUT], opts, silent);
    const [rtn] = await evaluateModel(join(tmp, "rtn"), [HELDOUT], opts, silent);
    console.log(`llama-t W4A4 per-channel, ${omni!.windows} windows: omniquant LET ${omni!.ppl.toFixed(3)} vs rtn ${rtn!.ppl.toFixed(3)}`);
    assert.ok(omni!.ppl < rtn!.ppl, `omniquant ppl ${omni!.ppl} vs rtn ${rtn!.ppl}`);
  } finally {
    await ckpt.weights.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("LET resume: stopped after 2 layers, resumed → same weights and norms; lazy rebuild equal; other settings refused", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "memc-oq-let-resume-"));
  const ckpt = await openCheckpoint(MODEL);
  try {
    const base: OmniQuantOptions = { wbits: 4, groupSize: 32, sym: false, calib: CALIB, nsamples: 3, seqlen: 64, epochs: 1, seed: 2, lwcLr: 1e-2, abits: 4, let: true };
    const full = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "a") }, silent);
    const cut = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "b"), stopAfterLayers: 2 }, silent);
    assert.equal(cut.complete, false);
    const resumed = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "b") }, silent);
    assert.deepEqual(resumed.resumed, [0, 1]);
    for (const [name, w] of full.weights) assert.deepEqual(resumed.weights.get(name), w, `${name} differs after resume`);
    const cache = {};
    for (const [name, w] of full.weights) assert.deepEqual(await quantizedTensor(ckpt, { ...base, stateDir: join(tmp, "a") }, name, cache), w, `${name}: rebuilt from state differs`);
    await assert.rejects(runOmniQuant(ckpt, { ...base, let: false, abits: undefined, stateDir: join(tmp, "b") }, silent), InputError);
    await assert.rejects(runOmniQuant(ckpt, { ...base, abits: 8, stateDir: join(tmp, "b") }, silent), InputError);
  } finally {
    await ckpt.weights.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
