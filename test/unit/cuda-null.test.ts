// The null backend drives a whole eval (llama-t and moe-t, CI has no GPU): shapes checked at every op, launches
// recorded with FLOPs matching an independent count, no tensor left alive; ppl is 1.0 by construction (zero losses).

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { openCheckpoint } from "../../src/model/checkpoint.js";
import { perplexity } from "../../src/eval/perplexity.js";
import { NullOps } from "../../src/runtime/null/ops.js";
import { openOps } from "../../src/runtime/backend.js";
import { silent } from "../../src/util/events.js";
import { ROOT } from "../helpers/fixtures.js";

for (const name of ["llama-t", "moe-t"]) {
  test(`null backend runs a whole perplexity eval: ${name}`, async () => {
    const ckpt = await openCheckpoint(join(ROOT, "fixtures", name));
    const ops = new NullOps();
    const L = 64;
    const W = 3;
    const tokens = Int32Array.from({ length: W * L + 5 }, (_, i) => (i * 7919) % ckpt.spec.vocab);
    try {
      const r = await perplexity(ops, ckpt.spec, ckpt.weights, tokens, { seqlen: L, chunkTokens: 2 * L }, silent);
      assert.equal(r.windows, W);
      assert.equal(r.ppl, 1);
      assert.equal(ops.liveTensors(), 0, "tensors left alive after the eval");
      const s = ops.summary();
      const by = (op: string) => s.find((x) => x.op === op);
      const { layers, hidden: D, heads: H, headDim: Dh, vocab: V } = ckpt.spec;
      // one rope for q and one for k per layer per chunk (2 chunks: 2 windows + 1 window)
      assert.equal(by("rope")?.launches, 2 * layers * 2);
      assert.equal(by("attention")?.launches, layers * 2);
      assert.equal(by("nll")?.launches, 2);
      assert.equal(by("nll")?.flops, 2 * W * L * D * V + 3 * W * L * V);
      assert.equal(by("attention")?.flops, layers * W * H * 2 * Dh * L * (L + 1));
      if (ckpt.spec.moe) assert.equal(by("route")?.launches, layers * 2);
    } finally {
      await ckpt.weights.close();
    }
  });
}

test("null backend names the op and shapes on a mismatch", async () => {
  const ops = new NullOps();
  const x = await ops.zeros([4, 8]);
  const w = await ops.zeros([3, 7]);
  await assert.rejects(ops.linear(x, w), /linear: x \[4, 8\] and w \[3, 7\] disagree on K/);
  await assert.rejects(ops.embedding(w, Int32Array.from([0, 3])), /embedding: ids\[1\] = 3 outside \[0, 3\)/);
  ops.free(x);
  await assert.rejects(ops.add(x, x), /used after free/);
});

test("--device null opens the null backend; --device bogus is a usage error", async () => {
  assert.equal((await openOps("null", silent)).device, "null");
  await assert.rejects(openOps("bogus", silent), /--device bogus: expected one of auto, cpu, cuda, null/);
});
