// Entry point of the CUDA backend, imported lazily by src/runtime/backend.ts so koffi loads only when cuda is asked for.

import { CudaDevice } from "./device.js";
import { CudaUnavailableError } from "./errors.js";
import { ATTENTION_IMPLS, CudaOps, type AttentionImpl, type CudaOpsOptions, type GemmMode } from "./ops.js";
import { probeCuda } from "./probe.js";

export { CudaOps, CudaTensor } from "./ops.js";
export { CudaDevice } from "./device.js";
export { probeCuda } from "./probe.js";

/** Opens GPU $MEMC_CUDA_DEVICE (default 0) with $MEMC_CUDA_GEMM (fp32|tf32|bf16, default fp32) and
 *  $MEMC_CUDA_ATTENTION (gemm|flash|flash-bf16; default gemm with fp32 GEMMs, flash-bf16 with tf32/bf16); throws CudaUnavailableError saying why when CUDA cannot be used. */
export async function openCudaOps(opts: CudaOpsOptions = {}): Promise<CudaOps> {
  const report = probeCuda();
  if (!report.ok) throw new CudaUnavailableError(report.reason ?? "unknown");
  const ordinal = Number(process.env.MEMC_CUDA_DEVICE ?? 0);
  const env = process.env.MEMC_CUDA_GEMM;
  if (env && !["fp32", "tf32", "bf16"].includes(env)) throw new CudaUnavailableError(`MEMC_CUDA_GEMM=${env}: expected fp32, tf32 or bf16`);
  const gemm = opts.gemm ?? (env as GemmMode | undefined) ?? "fp32";
  const att = process.env.MEMC_CUDA_ATTENTION;
  if (att && !ATTENTION_IMPLS.includes(att as AttentionImpl)) throw new CudaUnavailableError(`MEMC_CUDA_ATTENTION=${att}: expected ${ATTENTION_IMPLS.join(", ")}`);
  const attention = opts.attention ?? (att as AttentionImpl | undefined);
  return new CudaOps(CudaDevice.open(ordinal), { ...opts, gemm, attention });
}
