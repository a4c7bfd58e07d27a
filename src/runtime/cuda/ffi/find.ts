// Finds CUDA's shared libraries on this machine (DESIGN.md §3): MEMC_CUDA_LIBS, CUDA_HOME/CUDA_PATH,
// /usr/local/cuda*/targets/x86_64-linux/lib, /usr/local/cuda/lib64, Python site-packages nvidia/*/lib, then the loader path.

import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { homedir } from "node:os";

export interface LibrarySpec {
  /** file stem, e.g. "libnvrtc" */
  stem: string;
  /** names tried with the system loader when no folder holds the library, e.g. ["libnvrtc.so.13", "libnvrtc.so.12"] */
  sonames: string[];
}

export interface Candidate {
  path: string;
  /** which rule found it: "MEMC_CUDA_LIBS", "CUDA_HOME", "/usr/local/cuda*", "site-packages", "loader" */
  via: string;
}

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

const list = (p: string): string[] => {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
};

/** Python site-packages folders that may hold nvidia/<pkg>/lib (pip's CUDA wheels, torch's dependencies). */
export function sitePackages(env: NodeJS.ProcessEnv = process.env): string[] {
  const roots = new Set<string>();
  const pyRoots = ["/usr/lib", "/usr/local/lib", join(homedir(), ".local/lib")];
  for (const v of [env.VIRTUAL_ENV, env.CONDA_PREFIX]) if (v) pyRoots.push(join(v, "lib"));
  for (const p of (env.PATH ?? "").split(":")) if (p.endsWith("/bin") && existsSync(join(p, "python3"))) pyRoots.push(join(dirname(p), "lib"));
  for (const r of pyRoots) {
    for (const py of list(r).filter((n) => /^python3(\.\d+)?$/.test(n))) {
      for (const sp of ["site-packages", "dist-packages"]) {
        const d = join(r, py, sp);
        if (isDir(d)) roots.add(d);
      }
    }
  }
  return [...roots];
}

/** The folders searched, in order, each with the rule that put it there. */
export function searchDirs(env: NodeJS.ProcessEnv = process.env, usrLocal = "/usr/local"): Array<{ dir: string; via: string }> {
  const out: Array<{ dir: string; via: string }> = [];
  const add = (dir: string, via: string) => {
    if (isDir(dir) && !out.some((o) => o.dir === dir)) out.push({ dir, via });
  };
  for (const d of (env.MEMC_CUDA_LIBS ?? "").split(":").filter(Boolean)) add(d, "MEMC_CUDA_LIBS");
  for (const key of ["CUDA_HOME", "CUDA_PATH"] as const) {
    const h = env[key];
    if (h) for (const sub of ["lib64", "targets/x86_64-linux/lib", "lib"]) add(join(h, sub), key);
  }
  const cudas = list(usrLocal).filter((n) => /^cuda(-[\d.]+)?$/.test(n)).sort().reverse();
  for (const c of cudas) add(join(usrLocal, c, "targets/x86_64-linux/lib"), `${usrLocal}/cuda*`);
  add(join(usrLocal, "cuda/lib64"), `${usrLocal}/cuda/lib64`);
  for (const d of (env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean)) add(d, "LD_LIBRARY_PATH");
  for (const sp of sitePackages(env)) for (const pkg of list(join(sp, "nvidia"))) add(join(sp, "nvidia", pkg, "lib"), "site-packages");
  return out;
}

/** Version-suffix order: libx.so.13 > libx.so.12 > libx.so (newest first). */
function rank(name: string): number {
  const m = /\.so\.(\d+)/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** Every file that could be the library, best first, then the loader's sonames as a last resort. */
export function candidates(spec: LibrarySpec, env: NodeJS.ProcessEnv = process.env, usrLocal = "/usr/local"): Candidate[] {
  const re = new RegExp(`^${spec.stem.replace(/[.+]/g, "\\$&")}\\.so(\\.\\d+)*$`);
  const out: Candidate[] = [];
  for (const { dir, via } of searchDirs(env, usrLocal)) {
    const names = list(dir).filter((n) => re.test(n)).sort((a, b) => rank(b) - rank(a) || b.length - a.length);
    for (const n of names) out.push({ path: join(dir, n), via });
  }
  for (const s of spec.sonames) out.push({ path: s, via: "loader" });
  return out;
}

/** Include folders that may hold cuda_bf16.h / cuda_fp16.h, for NVRTC's -I. */
export function includeDirs(env: NodeJS.ProcessEnv = process.env, usrLocal = "/usr/local"): string[] {
  const out: string[] = [];
  const add = (d: string) => {
    if (!existsSync(join(d, "cuda_fp16.h"))) return;
    const real = realpathSync(d);
    if (!out.some((o) => realpathSync(o) === real)) out.push(d);
  };
  for (const key of ["CUDA_HOME", "CUDA_PATH"] as const) {
    const h = env[key];
    if (h) {
      add(join(h, "include"));
      add(join(h, "targets/x86_64-linux/include"));
    }
  }
  for (const c of list(usrLocal).filter((n) => /^cuda(-[\d.]+)?$/.test(n)).sort().reverse()) {
    add(join(usrLocal, c, "include"));
    add(join(usrLocal, c, "targets/x86_64-linux/include"));
  }
  for (const sp of sitePackages(env)) for (const pkg of list(join(sp, "nvidia"))) add(join(sp, "nvidia", pkg, "include"));
  return out;
}
