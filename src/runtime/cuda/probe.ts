// What CUDA this machine has, without throwing: each library (path, how it was found, version, or why not), the
// driver's GPUs, the kernel cache. Used by `memc doctor` and by `--device auto` to say why cuda was not used.

import { kernelCacheDir } from "./compiler.js";
import { loadCublas } from "./ffi/cublas.js";
import { loadCusolver } from "./ffi/cusolver.js";
import { ATTR, loadDriver } from "./ffi/driver.js";
import { includeDirs } from "./ffi/find.js";
import { loadNvrtc } from "./ffi/nvrtc.js";

export interface LibraryReport {
  name: string;
  found: boolean;
  path?: string;
  via?: string;
  version?: string;
  error?: string;
  /** needed for `--device cuda` (cusolver is only for SVD/eigen passes) */
  required: boolean;
}

export interface GpuReport {
  ordinal: number;
  name: string;
  computeCapability: string;
  totalMiB: number;
  multiprocessors: number;
}

export interface CudaReport {
  ok: boolean;
  /** why cuda cannot be used, when !ok */
  reason?: string;
  libraries: LibraryReport[];
  gpus: GpuReport[];
  driverVersion?: string;
  includeDirs: string[];
  kernelCache: string;
}

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));
const cudaVersion = (v: number) => `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;

function library(name: string, required: boolean, load: () => { path: string; via: string; version: string }): LibraryReport {
  try {
    const r = load();
    return { name, found: true, required, ...r };
  } catch (e) {
    return { name, found: false, required, error: msg(e) };
  }
}

export function probeCuda(): CudaReport {
  const gpus: GpuReport[] = [];
  let driverVersion: string | undefined;
  let gpuError: string | undefined;
  const driver = library("libcuda (driver)", true, () => {
    const d = loadDriver();
    driverVersion = cudaVersion(d.version());
    return { path: d.loaded.path, via: d.loaded.via, version: `CUDA ${driverVersion}` };
  });
  if (driver.found) {
    try {
      const d = loadDriver();
      d.init();
      const n = d.deviceCount();
      for (let i = 0; i < n; i++) {
        const dev = d.device(i);
        gpus.push({
          ordinal: i,
          name: d.deviceName(dev),
          computeCapability: `${d.attribute(dev, ATTR.COMPUTE_CAPABILITY_MAJOR)}.${d.attribute(dev, ATTR.COMPUTE_CAPABILITY_MINOR)}`,
          totalMiB: Math.round(d.totalMem(dev) / 2 ** 20),
          multiprocessors: d.attribute(dev, ATTR.MULTIPROCESSOR_COUNT),
        });
      }
      if (n === 0) gpuError = "the driver reports no CUDA GPU";
    } catch (e) {
      gpuError = `cuInit/device query failed: ${msg(e)}`;
    }
  }
  const libraries: LibraryReport[] = [
    driver,
    library("libnvrtc", true, () => {
      const n = loadNvrtc();
      const v = n.version();
      return { path: n.loaded.path, via: n.loaded.via, version: `${v.major}.${v.minor}` };
    }),
    library("libcublas", true, () => {
      const c = loadCublas();
      return { path: c.loaded.path, via: c.loaded.via, version: "" };
    }),
    library("libcusolver", false, () => {
      const c = loadCusolver();
      const v = c.version();
      return { path: c.loaded.path, via: c.loaded.via, version: `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 100)}.${v % 100}` };
    }),
  ];
  const reasons: string[] = [];
  if (!driver.found) reasons.push("no NVIDIA driver: libcuda.so.1 is not on the loader path (no GPU on this machine?)");
  else if (gpus.length === 0) reasons.push(`no GPU: ${gpuError ?? "none found"}`);
  for (const l of libraries.slice(1)) if (l.required && !l.found) reasons.push(`${l.name} not found (set MEMC_CUDA_LIBS or CUDA_HOME)`);
  return {
    ok: reasons.length === 0,
    reason: reasons.length ? reasons.join("; ") : undefined,
    libraries,
    gpus,
    driverVersion,
    includeDirs: includeDirs(),
    kernelCache: kernelCacheDir(),
  };
}
