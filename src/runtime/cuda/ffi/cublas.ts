// koffi bindings to libcublas: handle, version, math mode, GemmEx and GemmStridedBatchedEx (column-major, as cuBLAS is).
// Device pointers are uint64_t numbers; alpha/beta are host fp32 scalars (CUBLAS_POINTER_MODE_HOST, the default).

import { CublasError } from "../errors.js";
import { loadLibrary, optionalFunc, type Fn, type LoadedLibrary } from "./load.js";
import type { DevicePtr } from "./driver.js";

export const OP_N = 0;
export const OP_T = 1;
/** cudaDataType */
export const R_32F = 0;
export const R_16F = 2;
export const R_16BF = 14;
/** cublasComputeType_t */
export const COMPUTE_32F = 68;
export const COMPUTE_32F_FAST_TF32 = 77;
export const COMPUTE_32F_FAST_16BF = 75;
/** CUBLAS_GEMM_DEFAULT */
export const GEMM_DEFAULT = -1;

const STATUS: Record<number, string> = {
  0: "CUBLAS_STATUS_SUCCESS", 1: "CUBLAS_STATUS_NOT_INITIALIZED", 3: "CUBLAS_STATUS_ALLOC_FAILED", 7: "CUBLAS_STATUS_INVALID_VALUE",
  8: "CUBLAS_STATUS_ARCH_MISMATCH", 11: "CUBLAS_STATUS_MAPPING_ERROR", 13: "CUBLAS_STATUS_EXECUTION_FAILED", 14: "CUBLAS_STATUS_INTERNAL_ERROR",
  15: "CUBLAS_STATUS_NOT_SUPPORTED", 16: "CUBLAS_STATUS_LICENSE_ERROR",
};

export interface GemmArgs {
  transa: number; transb: number; m: number; n: number; k: number;
  alpha: number; a: DevicePtr; aType: number; lda: number;
  b: DevicePtr; bType: number; ldb: number;
  beta: number; c: DevicePtr; cType: number; ldc: number;
  compute: number;
}

export interface Cublas {
  readonly loaded: LoadedLibrary;
  create(): bigint;
  destroy(h: bigint): void;
  version(h: bigint): number;
  gemmEx(h: bigint, g: GemmArgs): void;
  /** strides in elements between consecutive matrices of A, B, C */
  gemmStridedBatchedEx(h: bigint, g: GemmArgs, strideA: number, strideB: number, strideC: number, batch: number): void;
}

let cublas: Cublas | undefined;

export function loadCublas(): Cublas {
  if (cublas) return cublas;
  const loaded = loadLibrary({ stem: "libcublas", sonames: ["libcublas.so.13", "libcublas.so.12", "libcublas.so"] });
  const L = loaded.lib;
  const f = (p: string): Fn => L.func(p) as Fn;
  const statusString = optionalFunc(L, "const char *cublasGetStatusString(int s)");
  const raw = {
    create: f("int cublasCreate_v2(_Out_ void **h)"),
    destroy: f("int cublasDestroy_v2(void *h)"),
    version: f("int cublasGetVersion_v2(void *h, _Out_ int *v)"),
    gemmEx: f(
      "int cublasGemmEx(void *h, int ta, int tb, int m, int n, int k, const float *alpha, uint64_t A, int Atype, int lda, uint64_t B, int Btype, int ldb, const float *beta, uint64_t C, int Ctype, int ldc, int computeType, int algo)",
    ),
    gemmSB: f(
      "int cublasGemmStridedBatchedEx(void *h, int ta, int tb, int m, int n, int k, const float *alpha, uint64_t A, int Atype, int lda, int64_t sA, uint64_t B, int Btype, int ldb, int64_t sB, const float *beta, uint64_t C, int Ctype, int ldc, int64_t sC, int batch, int computeType, int algo)",
    ),
  };
  const check = (call: string, status: number): void => {
    if (status === 0) return;
    const name = STATUS[status] ?? `CUBLAS_STATUS_${status}`;
    throw new CublasError(call, status, name, (statusString?.(status) as string | undefined) ?? "");
  };
  const al = new Float32Array(1);
  const be = new Float32Array(1);
  const desc = (g: GemmArgs) => `m=${g.m} n=${g.n} k=${g.k} ta=${g.transa} tb=${g.transb} lda=${g.lda} ldb=${g.ldb} ldc=${g.ldc}`;
  cublas = {
    loaded,
    create() {
      const o: [bigint | null] = [null];
      check("cublasCreate", raw.create(o) as number);
      return o[0]!;
    },
    destroy: (h) => check("cublasDestroy", raw.destroy(h) as number),
    version(h) {
      const o: [number | null] = [null];
      check("cublasGetVersion", raw.version(h, o) as number);
      return o[0] ?? 0;
    },
    gemmEx(h, g) {
      al[0] = g.alpha;
      be[0] = g.beta;
      check(`cublasGemmEx(${desc(g)})`, raw.gemmEx(h, g.transa, g.transb, g.m, g.n, g.k, al, g.a, g.aType, g.lda, g.b, g.bType, g.ldb, be, g.c, g.cType, g.ldc, g.compute, GEMM_DEFAULT) as number);
    },
    gemmStridedBatchedEx(h, g, sA, sB, sC, batch) {
      al[0] = g.alpha;
      be[0] = g.beta;
      check(
        `cublasGemmStridedBatchedEx(${desc(g)} batch=${batch})`,
        raw.gemmSB(h, g.transa, g.transb, g.m, g.n, g.k, al, g.a, g.aType, g.lda, sA, g.b, g.bType, g.ldb, sB, be, g.c, g.cType, g.ldc, sC, batch, g.compute, GEMM_DEFAULT) as number,
      );
    },
  };
  return cublas;
}
