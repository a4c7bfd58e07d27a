#!/usr/bin/env node
// Runs the compiled node:test files under dist/test (built by `npm run build`).
// `node scripts/run-tests.js` runs everything but test/gpu; `node scripts/run-tests.js gpu` runs only test/gpu.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const gpu = process.argv[2] === "gpu";
const root = "dist/test";
const files = [];
(function walk(dir) {
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (f.endsWith(".test.js")) files.push(p);
  }
})(root);
const chosen = files.filter((f) => f.startsWith(join(root, "gpu")) === gpu);
if (chosen.length === 0) {
  console.error(`no test files found under ${root}${gpu ? "/gpu" : ""}`);
  process.exit(1);
}
// Two test files run at once on CI's 2 cores, so each gets one onnxruntime thread (spinning thread pools
// of two processes fighting over 2 cores would make both several times slower).
const env = { ...process.env, MEMC_CPU_THREADS: process.env.MEMC_CPU_THREADS ?? "1" };
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=2", "--test-reporter=spec", ...chosen], { stdio: "inherit", env });
process.exit(r.status ?? 1);
