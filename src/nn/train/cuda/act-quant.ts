// Launch wrappers for kernels/train_act_quant.cu: per-token dynamic activation fake-quant forward/backward on the
// device, the math of src/nn/train/act-quant.ts (OmniQuant UniformAffineQuantizer, dynamic_method per_token).

import type { DevicePtr } from "../../../runtime/cuda/ffi/driver.js";
import { f32, i32, ptr, type TrainDevice } from "./context.js";

const threads = (len: number) => Math.min(256, Math.max(32, Math.ceil(len / 32) * 32));

/** y [rows, len] = fake-quant of x (one scale / zero point per row); y must not alias x */
export function actQuantForward(td: TrainDevice, y: DevicePtr, x: DevicePtr, rows: number, len: number, bits: number): void {
  td.launch("train_act_quant.cu", "aq_fwd", rows, threads(len), [ptr(y), ptr(x), i32(rows), i32(len), f32(2 ** bits - 1)]);
}

/** dx [rows, len] from dout and the pre-quant x (dx may be dout: in place) */
export function actQuantBackward(td: TrainDevice, dx: DevicePtr, dout: DevicePtr, x: DevicePtr, rows: number, len: number, bits: number): void {
  td.launch("train_act_quant.cu", "aq_bwd", rows, threads(len), [ptr(dx), ptr(dout), ptr(x), i32(rows), i32(len), f32(2 ** bits - 1)]);
}
