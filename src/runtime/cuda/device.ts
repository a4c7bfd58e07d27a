// A CUDA device: driver + primary context, the caching allocator, the NVRTC compiler and loaded kernels, a cuBLAS
// handle (made on first GEMM). Everything runs on the legacy default stream, so host-side frees are stream-ordered.

import { CudaAllocator } from "./allocator.js";
import { CudaCompiler } from "./compiler.js";
import { CudaUnavailableError } from "./errors.js";
import { loadCublas, type Cublas } from "./ffi/cublas.js";
import { ATTR, FUNC_ATTR_MAX_DYNAMIC_SMEM, loadDriver, type Driver, type Handle } from "./ffi/driver.js";
import { kernelSource } from "./kernels.js";
import { CudaProgram } from "./program.js";

export interface GpuInfo {
  ordinal: number;
  name: string;
  computeCapability: string;
  arch: string;
  totalBytes: number;
  multiprocessors: number;
}

export interface CompileRecord {
  file: string;
  defines: string;
  cached: boolean;
  ms: number;
}

export class CudaDevice {
  readonly allocator: CudaAllocator;
  private compilerInst?: CudaCompiler;
  private cublasHandle?: bigint;
  private cublasLib?: Cublas;
  private readonly modules = new Map<string, Handle>();
  private readonly programs = new Map<string, CudaProgram>();
  readonly compiles: CompileRecord[] = [];
  private disposed = false;

  private constructor(
    readonly driver: Driver,
    readonly info: GpuInfo,
    private readonly dev: number,
    readonly ctx: Handle,
  ) {
    this.allocator = new CudaAllocator(driver);
  }

  /** Opens GPU `ordinal`; throws CudaUnavailableError (library missing, no GPU) or DriverError. */
  static open(ordinal = 0): CudaDevice {
    const driver = loadDriver();
    try {
      driver.init();
    } catch (e) {
      throw new CudaUnavailableError(`cuInit failed (no GPU or no driver): ${e instanceof Error ? e.message : String(e)}`);
    }
    const count = driver.deviceCount();
    if (count === 0) throw new CudaUnavailableError("the driver reports no CUDA GPU");
    if (ordinal >= count) throw new CudaUnavailableError(`GPU ${ordinal} requested, ${count} present`);
    const dev = driver.device(ordinal);
    const major = driver.attribute(dev, ATTR.COMPUTE_CAPABILITY_MAJOR);
    const minor = driver.attribute(dev, ATTR.COMPUTE_CAPABILITY_MINOR);
    const info: GpuInfo = {
      ordinal,
      name: driver.deviceName(dev),
      computeCapability: `${major}.${minor}`,
      arch: `sm_${major}${minor}`,
      totalBytes: driver.totalMem(dev),
      multiprocessors: driver.attribute(dev, ATTR.MULTIPROCESSOR_COUNT),
    };
    const ctx = driver.retainPrimaryContext(dev);
    driver.setCurrent(ctx);
    return new CudaDevice(driver, info, dev, ctx);
  }

  get compiler(): CudaCompiler {
    return (this.compilerInst ??= new CudaCompiler(this.info.arch));
  }

  get cublas(): { lib: Cublas; handle: bigint } {
    if (this.cublasHandle === undefined) {
      this.cublasLib = loadCublas();
      this.cublasHandle = this.cublasLib.create();
    }
    return { lib: this.cublasLib!, handle: this.cublasHandle };
  }

  /** The kernel `fn` of kernels/<file>, compiled (or read from the disk cache) and loaded on first use. */
  kernel(file: string, fn: string, defines: Record<string, string | number> = {}, dynamicSmem = 0): CudaProgram {
    const dkey = Object.entries(defines).map(([k, v]) => `${k}=${v}`).join(",");
    const pkey = `${file}|${dkey}|${fn}`;
    const hit = this.programs.get(pkey);
    if (hit) return hit;
    const mkey = `${file}|${dkey}`;
    let mod = this.modules.get(mkey);
    if (!mod) {
      const c = this.compiler.compile(kernelSource(file), file, defines);
      this.compiles.push({ file, defines: dkey, cached: c.cached, ms: c.ms });
      const image = c.kind === "ptx" ? Buffer.concat([c.binary, Buffer.from([0])]) : c.binary;
      mod = this.driver.moduleLoadData(image);
      this.modules.set(mkey, mod);
    }
    const handle = this.driver.moduleGetFunction(mod, fn);
    if (dynamicSmem > 48 * 1024) this.driver.funcSetAttribute(handle, FUNC_ATTR_MAX_DYNAMIC_SMEM, dynamicSmem);
    const p = new CudaProgram(this.driver, `${file}:${fn}`, handle);
    this.programs.set(pkey, p);
    return p;
  }

  synchronize(): void {
    this.driver.synchronize();
  }

  /** Times `body` with CUDA events on the default stream (ms). */
  time(body: () => void): number {
    const a = this.driver.eventCreate();
    const b = this.driver.eventCreate();
    try {
      this.driver.eventRecord(a);
      body();
      this.driver.eventRecord(b);
      this.driver.eventSynchronize(b);
      return this.driver.eventElapsedMs(a, b);
    } finally {
      this.driver.eventDestroy(a);
      this.driver.eventDestroy(b);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.driver.synchronize();
    if (this.cublasHandle !== undefined) this.cublasLib!.destroy(this.cublasHandle);
    this.allocator.dispose();
    for (const m of this.modules.values()) this.driver.moduleUnload(m);
    this.modules.clear();
    this.programs.clear();
    this.driver.releasePrimaryContext(this.dev);
  }
}
