// Resume: a run stopped after 2 of llama-t's 4 layers and started again with the same options restores those layers
// from the state dir and ends with the same weights, bit for bit, as an uninterrupted run; other options are refused;
// weights rebuilt from the saved γ, β (the streaming write path) equal the in-memory ones.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { quantizedTensor, runOmniQuant, type OmniQuantOptions } from "../../src/passes/omniquant/run.js";
import { silent } from "../../src/util/events.js";
import { InputError } from "../../src/util/errors.js";

const MODEL = "../shared/fixtures/models/llama-t";
const CALIB = "../shared/fixtures/text/calib/english.txt";

test("killed after 2 layers, resumed: same final weights as one uninterrupted run", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "memc-oq-resume-"));
  const ckpt = await openCheckpoint(MODEL);
  try {
    const base: OmniQuantOptions = { wbits: 3, groupSize: 32, sym: false, calib: CALIB, nsamples: 3, seqlen: 64, epochs: 1, seed: 2, lwcLr: 1e-2 };
    const full = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "a") }, silent);
    assert.equal(full.complete, true);
    const cut = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "b"), stopAfterLayers: 2 }, silent);
    assert.equal(cut.complete, false);
    assert.equal(cut.layers.length, 2);
    const resumed = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "b") }, silent);
    assert.deepEqual(resumed.resumed, [0, 1]);
    assert.equal(resumed.weights.size, full.weights.size);
    for (const [name, w] of full.weights) assert.deepEqual(resumed.weights.get(name), w, `${name} differs after resume`);
    assert.deepEqual(resumed.layers.map((l) => l.lossAfter), full.layers.map((l) => l.lossAfter));
    // the streaming path (weights rebuilt from the state dir while writing) gives the same tensors
    const cache = {};
    for (const [name, w] of full.weights) assert.deepEqual(await quantizedTensor(ckpt, { ...base, stateDir: join(tmp, "a") }, name, cache), w, `${name}: rebuilt from state differs`);
    await assert.rejects(runOmniQuant(ckpt, { ...base, epochs: 2, stateDir: join(tmp, "b") }, silent), InputError);
  } finally {
    await ckpt.weights.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
