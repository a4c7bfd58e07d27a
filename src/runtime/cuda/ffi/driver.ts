// koffi bindings to libcuda (the driver API): init, devices, primary context, memory, modules, launches, events.
// CUdeviceptr is passed as uint64_t (a JS number); handles (CUcontext, CUmodule, CUfunction, CUevent) as void* (bigint).

import { DriverError } from "../errors.js";
import { firstFunc, loadLibrary, type Fn, type LoadedLibrary } from "./load.js";

export type Handle = bigint;
export type DevicePtr = number;

export interface Driver {
  readonly loaded: LoadedLibrary;
  check(call: string, status: number): void;
  init(): void;
  version(): number;
  deviceCount(): number;
  device(ordinal: number): number;
  deviceName(dev: number): string;
  attribute(dev: number, attr: number): number;
  totalMem(dev: number): number;
  retainPrimaryContext(dev: number): Handle;
  releasePrimaryContext(dev: number): void;
  setCurrent(ctx: Handle): void;
  memAlloc(bytes: number): DevicePtr;
  memFree(p: DevicePtr): void;
  memGetInfo(): { free: number; total: number };
  copyHtoD(dst: DevicePtr, src: ArrayBufferView, bytes: number): void;
  copyDtoH(dst: ArrayBufferView, src: DevicePtr, bytes: number): void;
  copyDtoD(dst: DevicePtr, src: DevicePtr, bytes: number): void;
  memsetD32(dst: DevicePtr, value: number, count: number): void;
  moduleLoadData(image: Buffer): Handle;
  moduleUnload(m: Handle): void;
  moduleGetFunction(m: Handle, name: string): Handle;
  funcSetAttribute(f: Handle, attr: number, value: number): void;
  launch(f: Handle, grid: [number, number, number], block: [number, number, number], smem: number, params: Buffer[]): void;
  synchronize(): void;
  eventCreate(): Handle;
  eventRecord(e: Handle): void;
  eventSynchronize(e: Handle): void;
  eventElapsedMs(a: Handle, b: Handle): number;
  eventDestroy(e: Handle): void;
}

/** CU_DEVICE_ATTRIBUTE_* values used here. */
export const ATTR = { MULTIPROCESSOR_COUNT: 16, COMPUTE_CAPABILITY_MAJOR: 75, COMPUTE_CAPABILITY_MINOR: 76, MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: 97 } as const;
/** CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES */
export const FUNC_ATTR_MAX_DYNAMIC_SMEM = 8;

let driver: Driver | undefined;

export function loadDriver(): Driver {
  if (driver) return driver;
  const loaded = loadLibrary({ stem: "libcuda", sonames: ["libcuda.so.1", "libcuda.so"] });
  const L = loaded.lib;
  const f = (p: string): Fn => L.func(p) as Fn;
  const getErrorString = f("int cuGetErrorString(int error, _Out_ const char **pStr)");
  const getErrorName = f("int cuGetErrorName(int error, _Out_ const char **pStr)");
  const raw = {
    cuInit: f("int cuInit(unsigned int flags)"),
    cuDriverGetVersion: f("int cuDriverGetVersion(_Out_ int *v)"),
    cuDeviceGetCount: f("int cuDeviceGetCount(_Out_ int *n)"),
    cuDeviceGet: f("int cuDeviceGet(_Out_ int *dev, int ordinal)"),
    cuDeviceGetName: f("int cuDeviceGetName(_Out_ uint8_t *name, int len, int dev)"),
    cuDeviceGetAttribute: f("int cuDeviceGetAttribute(_Out_ int *v, int attr, int dev)"),
    cuDeviceTotalMem: f("int cuDeviceTotalMem_v2(_Out_ uint64_t *bytes, int dev)"),
    cuDevicePrimaryCtxRetain: f("int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int dev)"),
    cuDevicePrimaryCtxRelease: firstFunc(L, ["int cuDevicePrimaryCtxRelease_v2(int dev)", "int cuDevicePrimaryCtxRelease(int dev)"]),
    cuCtxSetCurrent: f("int cuCtxSetCurrent(void *ctx)"),
    cuCtxSynchronize: f("int cuCtxSynchronize()"),
    cuMemAlloc: f("int cuMemAlloc_v2(_Out_ uint64_t *p, uint64_t bytes)"),
    cuMemFree: f("int cuMemFree_v2(uint64_t p)"),
    cuMemGetInfo: f("int cuMemGetInfo_v2(_Out_ uint64_t *free, _Out_ uint64_t *total)"),
    cuMemcpyHtoD: f("int cuMemcpyHtoD_v2(uint64_t dst, const void *src, uint64_t bytes)"),
    cuMemcpyDtoH: f("int cuMemcpyDtoH_v2(void *dst, uint64_t src, uint64_t bytes)"),
    cuMemcpyDtoD: f("int cuMemcpyDtoD_v2(uint64_t dst, uint64_t src, uint64_t bytes)"),
    cuMemsetD32: f("int cuMemsetD32_v2(uint64_t dst, unsigned int value, uint64_t n)"),
    cuModuleLoadData: f("int cuModuleLoadData(_Out_ void **m, const void *image)"),
    cuModuleUnload: f("int cuModuleUnload(void *m)"),
    cuModuleGetFunction: f("int cuModuleGetFunction(_Out_ void **fn, void *m, const char *name)"),
    cuFuncSetAttribute: f("int cuFuncSetAttribute(void *fn, int attr, int value)"),
    cuLaunchKernel: f(
      "int cuLaunchKernel(void *f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int smem, void *stream, void **params, void **extra)",
    ),
    cuEventCreate: f("int cuEventCreate(_Out_ void **e, unsigned int flags)"),
    cuEventRecord: f("int cuEventRecord(void *e, void *stream)"),
    cuEventSynchronize: f("int cuEventSynchronize(void *e)"),
    cuEventElapsedTime: firstFunc(L, ["int cuEventElapsedTime_v2(_Out_ float *ms, void *a, void *b)", "int cuEventElapsedTime(_Out_ float *ms, void *a, void *b)"]),
    cuEventDestroy: f("int cuEventDestroy_v2(void *e)"),
  };
  const check = (call: string, status: number): void => {
    if (status === 0) return;
    const name: [string | null] = [null];
    const msg: [string | null] = [null];
    getErrorName(status, name);
    getErrorString(status, msg);
    throw new DriverError(call, status, name[0] ?? "CUDA_ERROR_UNKNOWN", msg[0] ?? "");
  };
  const out1 = <V>(call: string, fn: Fn, ...args: unknown[]): V => {
    const o: [V | null] = [null];
    check(call, fn(o, ...args) as number);
    return o[0] as V;
  };
  driver = {
    loaded,
    check,
    init: () => check("cuInit", raw.cuInit(0)),
    version: () => out1<number>("cuDriverGetVersion", raw.cuDriverGetVersion),
    deviceCount: () => out1<number>("cuDeviceGetCount", raw.cuDeviceGetCount),
    device: (ordinal) => out1<number>(`cuDeviceGet(${ordinal})`, raw.cuDeviceGet, ordinal),
    deviceName: (dev) => {
      const buf = Buffer.alloc(256);
      check("cuDeviceGetName", raw.cuDeviceGetName(buf, 256, dev));
      return buf.toString("utf8", 0, buf.indexOf(0));
    },
    attribute: (dev, attr) => out1<number>(`cuDeviceGetAttribute(${attr})`, raw.cuDeviceGetAttribute, attr, dev),
    totalMem: (dev) => out1<number>("cuDeviceTotalMem", raw.cuDeviceTotalMem, dev),
    retainPrimaryContext: (dev) => out1<Handle>("cuDevicePrimaryCtxRetain", raw.cuDevicePrimaryCtxRetain, dev),
    releasePrimaryContext: (dev) => check("cuDevicePrimaryCtxRelease", raw.cuDevicePrimaryCtxRelease(dev)),
    setCurrent: (ctx) => check("cuCtxSetCurrent", raw.cuCtxSetCurrent(ctx)),
    memAlloc: (bytes) => out1<DevicePtr>(`cuMemAlloc(${bytes} bytes)`, raw.cuMemAlloc, bytes),
    memFree: (p) => check("cuMemFree", raw.cuMemFree(p)),
    memGetInfo: () => {
      const fr: [number | null] = [null];
      const to: [number | null] = [null];
      check("cuMemGetInfo", raw.cuMemGetInfo(fr, to));
      return { free: fr[0] ?? 0, total: to[0] ?? 0 };
    },
    copyHtoD: (dst, src, bytes) => check(`cuMemcpyHtoD(${bytes} bytes)`, raw.cuMemcpyHtoD(dst, src, bytes)),
    copyDtoH: (dst, src, bytes) => check(`cuMemcpyDtoH(${bytes} bytes)`, raw.cuMemcpyDtoH(dst, src, bytes)),
    copyDtoD: (dst, src, bytes) => check(`cuMemcpyDtoD(${bytes} bytes)`, raw.cuMemcpyDtoD(dst, src, bytes)),
    memsetD32: (dst, value, count) => check("cuMemsetD32", raw.cuMemsetD32(dst, value >>> 0, count)),
    moduleLoadData: (image) => out1<Handle>("cuModuleLoadData", raw.cuModuleLoadData, image),
    moduleUnload: (m) => check("cuModuleUnload", raw.cuModuleUnload(m)),
    moduleGetFunction: (m, name) => out1<Handle>(`cuModuleGetFunction(${name})`, raw.cuModuleGetFunction, m, name),
    funcSetAttribute: (fn, attr, value) => check(`cuFuncSetAttribute(${attr}=${value})`, raw.cuFuncSetAttribute(fn, attr, value)),
    launch: (fn, g, b, smem, params) =>
      check(`cuLaunchKernel(grid ${g.join("x")}, block ${b.join("x")}, smem ${smem})`, raw.cuLaunchKernel(fn, g[0], g[1], g[2], b[0], b[1], b[2], smem, null, params, null)),
    synchronize: () => check("cuCtxSynchronize", raw.cuCtxSynchronize()),
    eventCreate: () => out1<Handle>("cuEventCreate", raw.cuEventCreate, 0),
    eventRecord: (e) => check("cuEventRecord", raw.cuEventRecord(e, null)),
    eventSynchronize: (e) => check("cuEventSynchronize", raw.cuEventSynchronize(e)),
    eventElapsedMs: (a, b) => out1<number>("cuEventElapsedTime", raw.cuEventElapsedTime, a, b),
    eventDestroy: (e) => check("cuEventDestroy", raw.cuEventDestroy(e)),
  };
  return driver;
}
