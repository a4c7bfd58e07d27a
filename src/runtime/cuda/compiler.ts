// NVRTC compiler with an on-disk cache: binaries keyed by sha256(source + arch + options + NVRTC version) under
// $MEMC_CACHE_DIR or ~/.cache/memc/kernels, so a kernel is compiled once per machine.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { includeDirs } from "./ffi/find.js";
import { loadNvrtc, type Nvrtc } from "./ffi/nvrtc.js";

export function kernelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEMC_CACHE_DIR) return join(env.MEMC_CACHE_DIR, "kernels");
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "memc", "kernels");
}

export interface CompiledKernel {
  binary: Buffer;
  kind: "cubin" | "ptx";
  cached: boolean;
  key: string;
  ms: number;
}

export class CudaCompiler {
  private readonly nvrtc: Nvrtc;
  private readonly includes: string[];
  private readonly version: string;

  /** arch: e.g. "sm_90" */
  constructor(readonly arch: string, readonly cacheDir = kernelCacheDir()) {
    this.nvrtc = loadNvrtc();
    const v = this.nvrtc.version();
    this.version = `${v.major}.${v.minor}`;
    this.includes = includeDirs();
  }

  options(defines: Record<string, string | number> = {}): string[] {
    const opts = [`--gpu-architecture=${this.arch}`, "--std=c++17", "-default-device"];
    for (const d of this.includes) opts.push(`-I${d}`);
    for (const [k, v] of Object.entries(defines)) opts.push(`-D${k}=${v}`);
    return opts;
  }

  compile(source: string, name: string, defines: Record<string, string | number> = {}): CompiledKernel {
    const t0 = performance.now();
    const opts = this.options(defines);
    // include paths differ between machines but not the binary: keep them out of the key
    const keyed = opts.filter((o) => !o.startsWith("-I"));
    const key = createHash("sha256").update(`${source}\0${this.arch}\0${keyed.join(" ")}\0nvrtc ${this.version}`).digest("hex").slice(0, 32);
    const file = join(this.cacheDir, `${key}.${this.arch}.bin`);
    try {
      const binary = readFileSync(file);
      const kind = binary.subarray(0, 4).toString("latin1") === "\x7fELF" ? "cubin" : "ptx";
      return { binary, kind, cached: true, key, ms: performance.now() - t0 };
    } catch {
      /* not cached yet */
    }
    const r = this.nvrtc.compile(source, name, opts);
    try {
      mkdirSync(this.cacheDir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, r.binary);
      renameSync(tmp, file);
    } catch {
      /* a read-only cache folder only costs a recompile next time */
    }
    return { binary: r.binary, kind: r.kind, cached: false, key, ms: performance.now() - t0 };
  }
}
