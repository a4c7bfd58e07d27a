// Locates kernels/*.cu beside the package and inlines `#include "common.cuh"` so NVRTC needs no kernel include path.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let dir: string | undefined;

/** The package's kernels/ folder (walks up from this module: works from src/ under tsx and from dist/src/). */
export function kernelsDir(): string {
  if (dir) return dir;
  if (process.env.MEMC_KERNELS_DIR) return (dir = process.env.MEMC_KERNELS_DIR);
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(d, "kernels", "common.cuh")) && existsSync(join(d, "package.json"))) return (dir = join(d, "kernels"));
    d = dirname(d);
  }
  throw new Error(`kernels/ not found above ${fileURLToPath(import.meta.url)} (set MEMC_KERNELS_DIR)`);
}

/** Source of kernels/<file> with local includes inlined (one level; common.cuh has none of its own). */
export function kernelSource(file: string): string {
  const k = kernelsDir();
  const src = readFileSync(join(k, file), "utf8");
  return src.replace(/^#include "([\w.]+)"\s*$/gm, (_m, inc: string) => readFileSync(join(k, inc), "utf8").replace(/^#pragma once\s*$/m, ""));
}
