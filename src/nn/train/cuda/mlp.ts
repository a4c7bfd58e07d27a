// SwiGLU MLP forward/backward on the device (src/nn/train/mlp.ts; transformers LlamaMLP): down(silu(gate(x)) ⊙ up(x)).
// With `aq` (weight-activation mode) down_proj's input is fake-quantized per token, as mlp_forward(…, abits) does.

import type { DevicePtr } from "../../../runtime/cuda/ffi/driver.js";
import { actQuantBackward, actQuantForward } from "./act-quant.js";
import { i64, ptr, type TrainDevice } from "./context.js";
import type { DevMlp } from "./weights.js";

/** activations of one MLP call: g, u, a [M, F] (caller-owned) */
export interface DevMlpActs {
  g: DevicePtr;
  u: DevicePtr;
  a: DevicePtr;
  /** weight-activation mode: activation bits and the pre-quant swiglu output [M, F] (a then holds its fake-quant) */
  aq?: { bits: number; raw: DevicePtr };
}

/** x [M, D] → out [M, D] */
export function mlpForward(td: TrainDevice, x: DevicePtr, w: DevMlp, M: number, D: number, F: number, acts: DevMlpActs, out: DevicePtr): void {
  td.linear(acts.g, x, w.gate, M, D, F);
  td.linear(acts.u, x, w.up, M, D, F);
  const sw = acts.aq ? acts.aq.raw : acts.a;
  td.elementwise("train_elementwise.cu", "swiglu_fwd", M * F, [ptr(sw), ptr(acts.g), ptr(acts.u), i64(M * F)]);
  if (acts.aq) actQuantForward(td, acts.a, sw, M, F, acts.aq.bits);
  td.linear(out, acts.a, w.down, M, F, D);
}

/** scratch [3·M·F]; dx [M, D] written (beta 0) or added (beta 1); onGrad(part, dW) once per weight, dW valid only
 *  during the call (it lives in dwScratch) */
export function mlpBackward(
  td: TrainDevice, dout: DevicePtr, x: DevicePtr, w: DevMlp, acts: DevMlpActs, M: number, D: number, F: number,
  scratch: DevicePtr, dwScratch: DevicePtr, dx: DevicePtr, onGrad: (part: keyof DevMlp, dw: DevicePtr) => void, dxBeta = 0,
): void {
  const da = scratch;
  const dg = scratch + M * F * 4;
  const du = scratch + 2 * M * F * 4;
  td.linearDw(dwScratch, dout, acts.a, M, F, D);
  onGrad("down", dwScratch);
  td.linearDx(da, dout, w.down, M, F, D);
  if (acts.aq) actQuantBackward(td, da, da, acts.aq.raw, M, F, acts.aq.bits);
  td.elementwise("train_elementwise.cu", "swiglu_bwd", M * F, [ptr(dg), ptr(du), ptr(da), ptr(acts.g), ptr(acts.u), i64(M * F)]);
  td.linearDw(dwScratch, dg, x, M, D, F);
  onGrad("gate", dwScratch);
  td.linearDw(dwScratch, du, x, M, D, F);
  onGrad("up", dwScratch);
  td.linearDx(dx, dg, w.gate, M, D, F, dxBeta);
  td.linearDx(dx, du, w.up, M, D, F, 1);
}
