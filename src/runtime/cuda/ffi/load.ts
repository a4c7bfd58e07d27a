// Opens one CUDA library with koffi: tries each candidate from find.ts in order, remembers why each failed.

import koffi from "koffi";
import { CudaUnavailableError } from "../errors.js";
import { candidates, searchDirs, type LibrarySpec } from "./find.js";

export type KoffiLib = ReturnType<typeof koffi.load>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Fn = (...args: any[]) => any;

export interface LoadedLibrary {
  lib: KoffiLib;
  path: string;
  via: string;
}

const cache = new Map<string, LoadedLibrary>();

/** Loads the first candidate that opens; throws CudaUnavailableError naming every path tried and why it failed. */
export function loadLibrary(spec: LibrarySpec): LoadedLibrary {
  const hit = cache.get(spec.stem);
  if (hit) return hit;
  const failures: string[] = [];
  const fromLoader: string[] = [];
  for (const c of candidates(spec)) {
    try {
      const loaded = { lib: koffi.load(c.path), path: c.path, via: c.via };
      cache.set(spec.stem, loaded);
      return loaded;
    } catch (e) {
      if (c.via === "loader") fromLoader.push(c.path);
      else failures.push(`${c.path}: ${e instanceof Error ? e.message.replace(/^Failed to load shared library: /, "") : String(e)}`);
    }
  }
  const dirs = searchDirs().map((d) => d.dir);
  const where = failures.length ? `these failed to load: ${failures.join("; ")}` : `no ${spec.stem}.so* in ${dirs.length ? dirs.join(", ") : "any CUDA folder"}`;
  throw new CudaUnavailableError(`${spec.stem} not found: ${where}; the system loader has none of ${fromLoader.join(", ")}`);
}

/** Binds a C prototype; returns undefined when the symbol is absent (older/newer library versions). */
export function optionalFunc(lib: KoffiLib, proto: string): Fn | undefined {
  try {
    return lib.func(proto) as Fn;
  } catch {
    return undefined;
  }
}

/** Binds the first prototype whose symbol exists (e.g. cuEventElapsedTime_v2, then cuEventElapsedTime). */
export function firstFunc(lib: KoffiLib, protos: string[]): Fn {
  for (const p of protos) {
    const f = optionalFunc(lib, p);
    if (f) return f;
  }
  throw new CudaUnavailableError(`none of these symbols exist: ${protos.join(" | ")}`);
}
