// CI gate for kernels/*.cu: each must compile with `nvcc --ptx -arch=sm_90` (skips when nvcc is not on the PATH).
// The attention kernel is also compiled for every head dim the backend specialises it for.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
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
  for (const f of ["attention.cu", "cross_entropy.cu", "elementwise.cu", "embedding.cu", "moe.cu", "rmsnorm.cu", "rope.cu"]) assert.ok(files.includes(f), `missing kernels/${f}`);
});

const jobs: Array<{ file: string; defines: string[] }> = files.map((file) => ({ file, defines: [] }));
for (const hd of [32, 64, 80, 96, 128, 256]) jobs.push({ file: "attention.cu", defines: [`-DHD=${hd}`] });

for (const { file, defines } of jobs) {
  test(`nvcc --ptx -arch=sm_90 ${defines.join(" ")} kernels/${file}`, { skip }, () => {
    const out = mkdtempSync(join(tmpdir(), "memc-ptx-"));
    try {
      const r = spawnSync("nvcc", ["--ptx", "-arch=sm_90", "-std=c++17", `-I${dir}`, ...defines, "-o", join(out, "k.ptx"), join(dir, file)], { encoding: "utf8", timeout: 300_000 });
      assert.equal(r.status, 0, `nvcc failed on ${file}:\n${r.stderr}`);
      assert.equal(/warning/i.test(r.stderr ?? ""), false, `nvcc warned on ${file}:\n${r.stderr}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}
