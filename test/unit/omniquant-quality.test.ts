// Quality gate on llama-t: OmniQuant-LWC at W3 g32 (few windows, 2 epochs) beats RTN W3 g32 on held-out English
// perplexity (memc eval's protocol, first windows of english-heldout at seqlen 512). The oracle is RTN itself
// (src/passes/rtn, which reproduces fixtures/reference.json), the same comparison the paper makes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { evaluateModel } from "../../src/eval/evaluate.js";
import { runOmniQuant } from "../../src/passes/omniquant/run.js";
import { dequantizeGroups, quantizeGroups } from "../../src/passes/rtn/quantize.js";
import { writeTransformedCheckpoint } from "../../src/pipeline/write-checkpoint.js";
import { silent } from "../../src/util/events.js";

const MODEL = "../shared/fixtures/models/llama-t";
const HELDOUT = "../shared/fixtures/text/eval/english-heldout.txt";

test("llama-t W3 g32: OmniQuant-LWC perplexity < RTN perplexity", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "memc-oq-quality-"));
  const ckpt = await openCheckpoint(MODEL);
  try {
    const res = await runOmniQuant(ckpt, { wbits: 3, groupSize: 32, sym: false, calib: "../shared/fixtures/text/calib/english.txt", nsamples: 16, seqlen: 256, epochs: 2, seed: 2, lwcLr: 1e-2 }, silent);
    for (const l of res.layers) assert.ok(l.lossAfter < l.lossBefore, `layer ${l.layer}: block MSE ${l.lossBefore} → ${l.lossAfter} did not improve`);
    mkdirSync(join(tmp, "omni"));
    mkdirSync(join(tmp, "rtn"));
    await writeTransformedCheckpoint(ckpt, join(tmp, "omni"), (n) => (res.weights.has(n) ? { dtype: "F32", compute: async () => res.weights.get(n)! } : undefined));
    await writeTransformedCheckpoint(ckpt, join(tmp, "rtn"), (n) => {
      if (!res.weights.has(n)) return undefined;
      const [rows, cols] = ckpt.weights.info(n).shape as [number, number];
      return { dtype: "F32", compute: async () => dequantizeGroups(quantizeGroups(await ckpt.weights.f32(n), rows, cols, { bits: 3, groupSize: 32, sym: false })) };
    });
    const opts = { seqlen: 512, device: "cpu", maxWindows: 24 };
    const [omni] = await evaluateModel(join(tmp, "omni"), [HELDOUT], opts, silent);
    const [rtn] = await evaluateModel(join(tmp, "rtn"), [HELDOUT], opts, silent);
    console.log(`llama-t W3 g32, ${omni!.windows} windows: omniquant ${omni!.ppl.toFixed(3)} vs rtn ${rtn!.ppl.toFixed(3)}`);
    assert.ok(omni!.ppl < rtn!.ppl, `omniquant ppl ${omni!.ppl} vs rtn ${rtn!.ppl}`);
  } finally {
    await ckpt.weights.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
