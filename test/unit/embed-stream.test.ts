// The streamed encoder across batch boundaries: batches of 7 rows give the same codes/scales as one batch
// (no PCA: exactly; with PCA: same reconstruction to fp32 noise), and row-range readers match whole decodes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { compressStream, reconstructedRows, storedRows } from "../../src/passes/embed/stream.js";
import { decodeStored, reconstructMatrix } from "../../src/passes/embed/codec.js";
import { reconstructionError } from "../../src/passes/embed/metrics.js";
import { memorySource } from "../../src/passes/embed/source.js";

const rows = 53, dim = 12;
let s = 17;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
const x = Float32Array.from({ length: rows * dim }, (_, i) => rnd() * 0.1 * (1 + (i % dim)) + 0.01);

test("no PCA: batches of 7 rows = one batch, for every scale mode; error matches the whole-matrix metric", async () => {
  for (const scale of ["none", "tensor", "row"] as const) {
    const p = { float8: "e4m3" as const, scale, plainDtype: "F32" as const };
    const a = await compressStream(memorySource(x, rows, dim), p, undefined, undefined, 7);
    const b = await compressStream(memorySource(x, rows, dim), p, undefined, undefined, 1000);
    assert.deepEqual(a.c.f8!.codes, b.c.f8!.codes, scale);
    assert.deepEqual(a.c.f8!.scales, b.c.f8!.scales, scale);
    const whole = reconstructionError(x, decodeStored(b.c), rows, dim);
    assert.ok(Math.abs(a.error.relativeMse - whole.relativeMse) < 1e-12 && Math.abs(a.error.meanCosine - whole.meanCosine) < 1e-12);
  }
});

test("PCA + row scale: batches of 7 rows reconstruct like one batch; row readers = slices of whole decodes", async () => {
  const p = { float8: "e5m2" as const, pca: 0.5, scale: "row" as const, plainDtype: "F32" as const };
  const a = await compressStream(memorySource(x, rows, dim), p, undefined, undefined, 7);
  const b = await compressStream(memorySource(x, rows, dim), p, undefined, undefined, 1000);
  const ra = await reconstructMatrix(a.c), rb = await reconstructMatrix(b.c);
  let diff = 0, scale = 0;
  for (let i = 0; i < ra.length; i++) { diff = Math.max(diff, Math.abs(ra[i]! - rb[i]!)); scale = Math.max(scale, Math.abs(rb[i]!)); }
  assert.ok(diff < 0.05 * scale, `max diff ${diff} vs max |x̂| ${scale}`); // a code may flip at a rounding boundary
  const st = decodeStored(a.c);
  assert.deepEqual(storedRows(a.c, 10, 9), st.slice(10 * a.c.k, 19 * a.c.k));
  const rr = await reconstructedRows(a.c, 10, 9);
  for (let i = 0; i < rr.length; i++) assert.ok(Math.abs(rr[i]! - ra[10 * dim + i]!) < 1e-6);
});
