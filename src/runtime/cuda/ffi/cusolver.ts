// koffi bindings to libcusolver (dense): symmetric eigendecomposition (syevd) and Cholesky (potrf) in fp32, ready
// for SVD-LLM whitening and PCA. Matrices are column-major device buffers; devInfo is a device int.

import { CusolverError } from "../errors.js";
import { loadLibrary, type Fn, type LoadedLibrary } from "./load.js";
import type { DevicePtr } from "./driver.js";

export const EIG_MODE_VECTOR = 1;
export const FILL_LOWER = 0;

const STATUS: Record<number, string> = {
  0: "CUSOLVER_STATUS_SUCCESS", 1: "CUSOLVER_STATUS_NOT_INITIALIZED", 2: "CUSOLVER_STATUS_ALLOC_FAILED", 3: "CUSOLVER_STATUS_INVALID_VALUE",
  4: "CUSOLVER_STATUS_ARCH_MISMATCH", 5: "CUSOLVER_STATUS_MAPPING_ERROR", 6: "CUSOLVER_STATUS_EXECUTION_FAILED", 7: "CUSOLVER_STATUS_INTERNAL_ERROR",
  8: "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED", 9: "CUSOLVER_STATUS_NOT_SUPPORTED",
};

export interface Cusolver {
  readonly loaded: LoadedLibrary;
  version(): number;
  create(): bigint;
  destroy(h: bigint): void;
  syevdBufferSize(h: bigint, n: number, a: DevicePtr, w: DevicePtr): number;
  /** a: [n, n] symmetric (lower used) → eigenvectors in a (columns), w: [n] ascending eigenvalues */
  syevd(h: bigint, n: number, a: DevicePtr, w: DevicePtr, work: DevicePtr, lwork: number, info: DevicePtr): void;
  potrfBufferSize(h: bigint, n: number, a: DevicePtr): number;
  /** a: [n, n] SPD → lower Cholesky factor in place */
  potrf(h: bigint, n: number, a: DevicePtr, work: DevicePtr, lwork: number, info: DevicePtr): void;
}

let cusolver: Cusolver | undefined;

export function loadCusolver(): Cusolver {
  if (cusolver) return cusolver;
  const loaded = loadLibrary({ stem: "libcusolver", sonames: ["libcusolver.so.12", "libcusolver.so.11", "libcusolver.so"] });
  const L = loaded.lib;
  const f = (p: string): Fn => L.func(p) as Fn;
  const raw = {
    version: f("int cusolverGetVersion(_Out_ int *v)"),
    create: f("int cusolverDnCreate(_Out_ void **h)"),
    destroy: f("int cusolverDnDestroy(void *h)"),
    syevdBuf: f("int cusolverDnSsyevd_bufferSize(void *h, int jobz, int uplo, int n, uint64_t A, int lda, uint64_t W, _Out_ int *lwork)"),
    syevd: f("int cusolverDnSsyevd(void *h, int jobz, int uplo, int n, uint64_t A, int lda, uint64_t W, uint64_t work, int lwork, uint64_t info)"),
    potrfBuf: f("int cusolverDnSpotrf_bufferSize(void *h, int uplo, int n, uint64_t A, int lda, _Out_ int *lwork)"),
    potrf: f("int cusolverDnSpotrf(void *h, int uplo, int n, uint64_t A, int lda, uint64_t work, int lwork, uint64_t info)"),
  };
  const check = (call: string, status: number): void => {
    if (status !== 0) throw new CusolverError(call, status, STATUS[status] ?? `CUSOLVER_STATUS_${status}`, "");
  };
  const out1 = (call: string, fn: Fn, ...args: unknown[]): number => {
    const o: [number | null] = [null];
    check(call, fn(...args, o) as number);
    return o[0] ?? 0;
  };
  cusolver = {
    loaded,
    version() {
      const o: [number | null] = [null];
      check("cusolverGetVersion", raw.version(o) as number);
      return o[0] ?? 0;
    },
    create() {
      const o: [bigint | null] = [null];
      check("cusolverDnCreate", raw.create(o) as number);
      return o[0]!;
    },
    destroy: (h) => check("cusolverDnDestroy", raw.destroy(h) as number),
    syevdBufferSize: (h, n, a, w) => out1(`cusolverDnSsyevd_bufferSize(n=${n})`, raw.syevdBuf, h, EIG_MODE_VECTOR, FILL_LOWER, n, a, n, w),
    syevd: (h, n, a, w, work, lwork, info) => check(`cusolverDnSsyevd(n=${n})`, raw.syevd(h, EIG_MODE_VECTOR, FILL_LOWER, n, a, n, w, work, lwork, info) as number),
    potrfBufferSize: (h, n, a) => out1(`cusolverDnSpotrf_bufferSize(n=${n})`, raw.potrfBuf, h, FILL_LOWER, n, a, n),
    potrf: (h, n, a, work, lwork, info) => check(`cusolverDnSpotrf(n=${n})`, raw.potrf(h, FILL_LOWER, n, a, n, work, lwork, info) as number),
  };
  return cusolver;
}
