// Entry point of the CUDA backend, imported lazily by src/runtime/backend.ts so koffi loads only when cuda is asked for.

import { CudaDevice } from "./device.js";
import { CudaUnavailableError } from "./errors.js";
import { CudaOps, type CudaOpsOptions } from "./ops.js";
import { probeCuda } from "./probe.js";

export { CudaOps, CudaTensor } from "./ops.js";
export { CudaDevice } from "./device.js";
export { probeCuda } from "./probe.js";

/** Opens GPU $MEMC_CUDA_DEVICE (default 0); throws CudaUnavailableError saying why when CUDA cannot be used. */
export async function openCudaOps(opts: CudaOpsOptions = {}): Promise<CudaOps> {
  const report = probeCuda();
  if (!report.ok) throw new CudaUnavailableError(report.reason ?? "unknown");
  const ordinal = Number(process.env.MEMC_CUDA_DEVICE ?? 0);
  const tf32 = opts.tf32 ?? process.env.MEMC_CUDA_TF32 === "1";
  return new CudaOps(CudaDevice.open(ordinal), { ...opts, tf32 });
}
