// --aug-loss (OmniQuant's --aug_loss, its 2-bit scripts): the loss adds MSE against the fp layer applied to the quantized
// inputs. At layer 0 the quantized stream still equals the fp stream (both are the embeddings), so the second target equals
// the first: the loss must be exactly twice the plain one at the first step. From layer 1 on the targets differ, so the
// runs must part. The loss/gradient sum itself is checked by hand below.

import { test } from "node:test";
import assert from "node:assert/strict";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { mseLossAndGrad, runOmniQuant, type OmniQuantOptions } from "../../src/passes/omniquant/run.js";
import type { Emit } from "../../src/util/events.js";
import { modelDir } from "../helpers/fixtures.js";

test("--aug-loss: the first step's loss doubles at layer 0; later layers train differently", async () => {
  const ckpt = await openCheckpoint(modelDir("llama-t"));
  try {
    const base: OmniQuantOptions = { wbits: 3, groupSize: 32, sym: false, calib: "fixtures/text/english-sample.txt", nsamples: 3, seqlen: 64, epochs: 1, seed: 2, lwcLr: 1e-2 };
    const firstLoss = (into: number[]): Emit => (e) => {
      if (e.kind === "progress" && e.task.startsWith("omniquant layer 1/") && e.done === 1) into.push(Number(/loss (\S+)/.exec(e.detail ?? "")![1]));
    };
    const l0: number[] = [];
    const l1: number[] = [];
    const plain = await runOmniQuant(ckpt, base, firstLoss(l0));
    const aug = await runOmniQuant(ckpt, { ...base, augLoss: true }, firstLoss(l1));
    assert.equal(l0.length, 1);
    assert.ok(Math.abs(l1[0]! / l0[0]! - 2) < 1e-3, `first-step loss ${l1[0]} vs plain ${l0[0]}: want twice`);
    assert.ok(Math.abs(aug.layers[0]!.epochLoss[0]! / plain.layers[0]!.epochLoss[0]! - 2) < 1e-2, "layer 0 epoch loss doubles");
    const last = ckpt.spec.layers - 1;
    assert.notEqual(aug.layers[last]!.lossAfter, plain.layers[last]!.lossAfter, "the last layer trained on the same targets with and without --aug-loss");
  } finally {
    await ckpt.weights.close();
  }
});

test("mseLossAndGrad sums the MSE and its gradient over the targets (by hand)", () => {
  const y = Float32Array.from([1, 2]);
  const one = mseLossAndGrad(y, [Float32Array.from([0, 0])]);
  assert.equal(one.loss, 2.5); // (1 + 4) / 2
  assert.deepEqual([...one.dy], [1, 2]); // 2·(y − t)/2
  const two = mseLossAndGrad(y, [Float32Array.from([0, 0]), Float32Array.from([1, 1])]);
  assert.equal(two.loss, 3); // 2.5 + (0 + 1) / 2
  assert.deepEqual([...two.dy], [1, 3]); // [1 + 0, 2 + 1]
});
