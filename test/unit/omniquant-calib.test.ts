// Calibration windows: CPython's random (seed 2) reproduced exactly — the oracle numbers were printed by
// python3 -c "import random; random.seed(2); print([random.randint(0,300000) for _ in range(6)])".

import { test } from "node:test";
import assert from "node:assert/strict";
import { PyRandom, calibrationWindows, loadCalibration } from "../../src/pipeline/calibration.js";
import { loadTokenizer } from "../../src/model/tokenizer.js";

test("PyRandom.randint matches CPython for seeds 2 and 0", () => {
  const r = new PyRandom(2);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(() => r.randint(0, 300000)), [29649, 48016, 44497, 189298, 88648, 161552]);
  const r0 = new PyRandom(0);
  assert.deepEqual([0, 1, 2].map(() => r0.randint(0, 10)), [6, 6, 0]);
});

test("calibrationWindows cuts seqlen-token windows at the reference's offsets", () => {
  const tokens = Int32Array.from({ length: 300000 + 16 + 1 }, (_, i) => i);
  const w = calibrationWindows(tokens, 3, 16, 2);
  assert.deepEqual(w.map((x) => [x[0], x.length]), [[29649, 16], [48016, 16], [44497, 16]]);
  assert.equal(w[0]![15], 29649 + 15);
});

test("--calib a,b,c is the reference's mix loader: nsamples // k windows from each file, same seed, in file order", async () => {
  const model = "../shared/fixtures/models/llama-t";
  const files = ["english", "code", "math"].map((t) => `../shared/fixtures/text/calib/${t}.txt`);
  const mixed = await loadCalibration(model, files.join(","), 10, 64, 2);
  // 10 // 3 = 3 per file (datautils.py: get_wikitext2(nsamples//3, seed, …) + get_ptb(…) + get_c4(…))
  assert.equal(mixed.length, 9);
  const tok = await loadTokenizer(model);
  const { readFile } = await import("node:fs/promises");
  for (const [k, f] of files.entries()) {
    const alone = calibrationWindows(tok.encode(await readFile(f, "utf8")), 3, 64, 2);
    for (let j = 0; j < 3; j++) assert.deepEqual(Array.from(mixed[3 * k + j]!), Array.from(alone[j]!), `${f} window ${j}`);
  }
  // one file: every window from it, as before
  assert.equal((await loadCalibration(model, files[0]!, 10, 64, 2)).length, 10);
  await assert.rejects(loadCalibration(model, files.join(","), 2, 64, 2), /fewer than one window for each of the 3/);
  await assert.rejects(loadCalibration(model, `${files[0]},nope.txt`, 9, 64, 2), /--calib nope\.txt: no such file/);
});
