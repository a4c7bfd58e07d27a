// CUDA discovery without a GPU: the search order of DESIGN.md §3 on a fake tree, and probe/doctor/auto saying why
// cuda is unusable on a machine that has no driver (skipped where a GPU is present).

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { candidates, searchDirs } from "../../src/runtime/cuda/ffi/find.js";
import { probeCuda } from "../../src/runtime/cuda/probe.js";
import { bucketSize } from "../../src/runtime/cuda/allocator.js";
import { openOps } from "../../src/runtime/backend.js";
import { kernelSource } from "../../src/runtime/cuda/kernels.js";
import { doctorReport } from "../../src/commands/doctor.js";
import type { MemcEvent } from "../../src/util/events.js";

test("library search order: MEMC_CUDA_LIBS, CUDA_HOME, /usr/local/cuda*, site-packages, then the loader", () => {
  const root = mkdtempSync(join(tmpdir(), "memc-find-"));
  try {
    const mk = (dir: string, ...files: string[]) => {
      mkdirSync(join(root, dir), { recursive: true });
      for (const f of files) writeFileSync(join(root, dir, f), "");
    };
    mk("override", "libnvrtc.so.12");
    mk("home/lib64", "libnvrtc.so", "libnvrtc.so.13", "libnvrtc-builtins.so.13");
    mk("usrlocal/cuda-13.0/targets/x86_64-linux/lib", "libnvrtc.so.13");
    mk("venv/lib/python3.12/site-packages/nvidia/cuda_nvrtc/lib", "libnvrtc.so.12");
    const env = { MEMC_CUDA_LIBS: join(root, "override"), CUDA_HOME: join(root, "home"), VIRTUAL_ENV: join(root, "venv"), PATH: "" };
    const c = candidates({ stem: "libnvrtc", sonames: ["libnvrtc.so.13"] }, env, join(root, "usrlocal"));
    assert.deepEqual(
      c.map((x) => [x.path.replace(root, ""), x.via]),
      [
        ["/override/libnvrtc.so.12", "MEMC_CUDA_LIBS"],
        ["/home/lib64/libnvrtc.so.13", "CUDA_HOME"],
        ["/home/lib64/libnvrtc.so", "CUDA_HOME"],
        ["/usrlocal/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so.13", `${join(root, "usrlocal")}/cuda*`],
        ["/venv/lib/python3.12/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12", "site-packages"],
        ["libnvrtc.so.13", "loader"],
      ],
    );
    assert.ok(searchDirs(env, join(root, "usrlocal")).every((d) => !d.dir.includes("missing")));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("allocator buckets: 256-byte steps below 1 MiB, 1/8 power-of-two steps above", () => {
  assert.equal(bucketSize(1), 256);
  assert.equal(bucketSize(257), 512);
  assert.equal(bucketSize(3 * 2 ** 20 + 1), 3.25 * 2 ** 20);
  for (const n of [1000, 123456, 5e6, 7e8]) assert.ok(bucketSize(n) >= n && bucketSize(n) <= n * 1.25 + 256);
});

const gpuHere = probeCuda().ok;

test("no GPU: probe, doctor and --device auto say why; --device cuda is a usage error", { skip: gpuHere && "a GPU is present" }, async () => {
  const r = probeCuda();
  assert.equal(r.ok, false);
  assert.match(r.reason ?? "", /no NVIDIA driver|no GPU/);
  assert.deepEqual(r.gpus, []);
  const d = await doctorReport();
  assert.equal(d.backends.cuda.ok, false);
  assert.equal(d.backends.null.ok, true);
  assert.match(d.backends.cuda.detail, /no NVIDIA driver|no GPU/);
  const events: MemcEvent[] = [];
  const ops = await openOps("auto", (e) => events.push(e));
  assert.equal(ops.device, "cpu");
  assert.ok(events.some((e) => e.kind === "log" && /device auto: using cpu \(cuda not usable: .*no NVIDIA driver/.test(e.message)));
  await ops.dispose();
  await assert.rejects(openOps("cuda", () => {}), /--device cuda: CUDA is not usable here: .*memc doctor/);
});

test("kernel sources inline common.cuh so NVRTC needs no kernel include path", () => {
  const src = kernelSource("rmsnorm.cu");
  assert.doesNotMatch(src, /#include "common.cuh"/);
  assert.match(src, /float block_sum\(float v, float\* scratch/);
  assert.match(src, /extern "C" __global__ void rmsnorm\(/);
});
