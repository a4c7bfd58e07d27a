// Calibration windows: CPython's random (seed 2) reproduced exactly — the oracle numbers were printed by
// python3 -c "import random; random.seed(2); print([random.randint(0,300000) for _ in range(6)])".

import { test } from "node:test";
import assert from "node:assert/strict";
import { PyRandom, calibrationWindows } from "../../src/pipeline/calibration.js";

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
