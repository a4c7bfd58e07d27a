// Typed errors of the CUDA backend: one class per library, each carrying the status, its name and the
// library's own message (cuGetErrorString, nvrtcGetProgramLog, cublasGetStatusString).

import { MemcError } from "../../util/errors.js";

export type CudaLibraryName = "driver" | "nvrtc" | "cublas" | "cusolver";

export class CudaError extends MemcError {
  constructor(
    readonly library: CudaLibraryName,
    readonly call: string,
    readonly status: number,
    readonly statusName: string,
    detail: string,
  ) {
    super(`${library}: ${call} failed with ${statusName} (${status})${detail ? `: ${detail}` : ""}`);
    this.name = "CudaError";
  }
}

export class DriverError extends CudaError {
  constructor(call: string, status: number, statusName: string, detail: string) {
    super("driver", call, status, statusName, detail);
    this.name = "DriverError";
  }
}

export class NvrtcError extends CudaError {
  constructor(call: string, status: number, statusName: string, detail: string) {
    super("nvrtc", call, status, statusName, detail);
    this.name = "NvrtcError";
  }
}

export class CublasError extends CudaError {
  constructor(call: string, status: number, statusName: string, detail: string) {
    super("cublas", call, status, statusName, detail);
    this.name = "CublasError";
  }
}

export class CusolverError extends CudaError {
  constructor(call: string, status: number, statusName: string, detail: string) {
    super("cusolver", call, status, statusName, detail);
    this.name = "CusolverError";
  }
}

/** A library or a GPU that could not be found or opened; `reason` says why, for doctor and --device auto. */
export class CudaUnavailableError extends MemcError {
  constructor(readonly reason: string) {
    super(`CUDA is not available: ${reason}`);
    this.name = "CudaUnavailableError";
  }
}
