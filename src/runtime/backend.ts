// Device selection: `--device auto|cuda|cpu|null`. auto tries cuda first and falls back to cpu, saying why.
// The CUDA backend lives in src/runtime/cuda and is loaded lazily (koffi is only touched when asked for).

import { InputError } from "../util/errors.js";
import type { Emit } from "../util/events.js";
import type { DeviceTensor, Ops } from "./ops.js";
import { CpuOps } from "./cpu/ops.js";
import { NullOps } from "./null/ops.js";

export type DeviceName = "auto" | "cpu" | "cuda" | "null";

export const DEVICES = ["auto", "cpu", "cuda", "null"] as const;

/** Why cuda cannot be used here, or undefined when it can (no context is created). */
export async function cudaUnusableReason(): Promise<string | undefined> {
  try {
    const { probeCuda } = await import("./cuda/probe.js");
    const r = probeCuda();
    return r.ok ? undefined : r.reason;
  } catch (e) {
    return `the CUDA backend failed to load: ${(e as Error).message}`;
  }
}

/** gemm: the CUDA GEMM mode (fp32 = exact, the default; tf32; bf16 = bf16 operands, fp32 accumulate); ignored elsewhere. */
export async function openOps(device: string, emit: Emit, gemm?: "fp32" | "tf32" | "bf16"): Promise<Ops<DeviceTensor>> {
  if (device === "cpu") return new CpuOps();
  if (device === "null") return new NullOps();
  if (device === "cuda" || device === "auto") {
    try {
      const { openCudaOps } = await import("./cuda/index.js");
      return await openCudaOps(gemm ? { gemm } : {});
    } catch (e) {
      if (device === "cuda") throw new InputError(`--device cuda: CUDA is not usable here: ${(e as Error).message} (run \`memc doctor\`)`);
      emit({ kind: "log", level: "info", message: `device auto: using cpu (cuda not usable: ${(e as Error).message})` });
      return new CpuOps();
    }
  }
  throw new InputError(`--device ${device}: expected one of ${DEVICES.join(", ")}`);
}
