// CI gate for kernels/*.cu: each must compile with `nvcc --ptx -arch=sm_90` (skips when nvcc is not on the PATH).
// The attention kernel is also compiled for the head dims that take different code paths (BK = 32 ≤ 128 < BK = 16).
// Compiles start together at load, as many at a time as there are cores; each test awaits its own.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kernelsDir } from "../../src/runtime/cuda/kernels.js";

function hasNvcc(): boolean {
  try {
    execFileSync("nvcc", ["--version"], { stdio: "ignore", timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

const skip = hasNvcc() ? false : "nvcc not on PATH";
const dir = kernelsDir();
const files = readdirSync(dir).filter((f) => f.endsWith(".cu")).sort();

test("kernels/ holds the expected kernel files", () => {
  for (const f of ["attention.cu", "attention_bf16.cu", "cross_entropy.cu", "elementwise.cu", "embedding.cu", "moe.cu", "moe_dispatch.cu", "rmsnorm.cu", "rope.cu"]) assert.ok(files.includes(f), `missing kernels/${f}`);
});

const jobs: Array<{ file: string; defines: string[] }> = files.map((file) => ({ file, defines: [] }));
for (const hd of [32, 128, 256]) jobs.push({ file: "attention.cu", defines: [`-DHD=${hd}`] });
for (const hd of [32, 128]) jobs.push({ file: "attention_bf16.cu", defines: [`-DHD=${hd}`] }); // the default is 64

type Result = { status: number; stderr: string };
let running = 0;
const waiting: Array<() => void> = [];
async function nvcc(file: string, defines: string[]): Promise<Result> {
  if (running >= availableParallelism()) await new Promise<void>((r) => waiting.push(r));
  running++;
  const out = mkdtempSync(join(tmpdir(), "memc-ptx-"));
  try {
    return await new Promise<Result>((resolve) =>
      execFile("nvcc", ["--ptx", "-arch=sm_90", "-std=c++17", `-I${dir}`, ...defines, "-o", join(out, "k.ptx"), join(dir, file)], { timeout: 300_000 }, (err, _o, stderr) =>
        resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stderr: String(stderr) }),
      ),
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
    running--;
    waiting.shift()?.();
  }
}

const results = skip ? [] : jobs.map((j) => nvcc(j.file, j.defines));
jobs.forEach(({ file, defines }, i) => {
  test(`nvcc --ptx -arch=sm_90 ${defines.join(" ")} kernels/${file}`, { skip }, async () => {
    const r = await results[i]!;
    assert.equal(r.status, 0, `nvcc failed on ${file}:\n${r.stderr}`);
    assert.equal(/warning/i.test(r.stderr), false, `nvcc warned on ${file}:\n${r.stderr}`);
  });
});
