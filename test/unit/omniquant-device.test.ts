// `--device cpu|cuda|auto` for the omniquant pass (src/passes/omniquant/index.ts): recipe defaults, rejected values,
// and where auto/cuda lead on this machine (on CI, no GPU: auto falls back to cpu and says why, cuda is an InputError).

import { test } from "node:test";
import assert from "node:assert/strict";
import { omniquantParams, resolveDevice } from "../../src/passes/omniquant/index.js";
import { probeCuda } from "../../src/runtime/cuda/probe.js";
import { InputError } from "../../src/util/errors.js";
import type { MemcEvent } from "../../src/util/events.js";

const base = { wbits: 3, group_size: 128, calib: "x.txt" };

test("omniquant params: device defaults to cpu, gemm to fp32; unknown values are rejected", () => {
  const p = omniquantParams.parse(base);
  assert.equal(p.device, "cpu");
  assert.equal(p.gemm, "fp32");
  assert.equal(omniquantParams.parse({ ...base, device: "cuda", gemm: "bf16" }).gemm, "bf16");
  assert.throws(() => omniquantParams.parse({ ...base, device: "gpu" }));
  assert.throws(() => omniquantParams.parse({ ...base, gemm: "fp16" }));
});

test("resolveDevice: cpu stays cpu; without a usable GPU auto → cpu (logged) and cuda → InputError", async () => {
  const events: MemcEvent[] = [];
  const emit = (e: MemcEvent) => void events.push(e);
  assert.deepEqual(await resolveDevice("cpu", emit), { device: "cpu" });
  if (probeCuda().ok) {
    assert.deepEqual(await resolveDevice("auto", emit), { device: "cuda" });
    return;
  }
  assert.deepEqual(await resolveDevice("auto", emit), { device: "cpu" });
  assert.ok(events.some((e) => e.kind === "log" && /cuda not usable/.test(e.message)), "auto says why it fell back");
  await assert.rejects(resolveDevice("cuda", emit), (e: unknown) => e instanceof InputError && /CUDA is not usable/.test(e.message));
});
