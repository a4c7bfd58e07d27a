// Launch wrappers for kernels/lwc.cu (LWC forward/backward, the math of src/passes/omniquant/lwc.ts) and
// kernels/adamw.cu (torch.optim.AdamW, src/passes/omniquant/adamw.ts). One warp per quantization group.

import type { DevicePtr } from "../../../runtime/cuda/ffi/driver.js";
import { f64, i32, i64, ptr } from "../../../runtime/cuda/program.js";
import type { TrainDevice } from "./context.js";

export interface LwcShape {
  /** rows·groups */
  groups: number;
  /** columns per group */
  g: number;
  bits: number;
  sym: boolean;
}

const warps = (groups: number) => Math.ceil((groups * 32) / 256);

/** per-group raw max / min of w [groups·g] */
export function lwcRanges(td: TrainDevice, s: LwcShape, w: DevicePtr, mx: DevicePtr, mn: DevicePtr): void {
  td.launch("lwc.cu", "lwc_ranges", warps(s.groups), 256, [ptr(mx), ptr(mn), ptr(w), i64(s.groups), i32(s.g)]);
}

/** Ŵ [groups·g] from w and the clip logits γ, β [groups], into wq (fp32) and / or wq16 (bf16 bits; 0: not written);
 *  w16: w's exact bf16 copy (lwcWeightBf16), read instead of w when given */
export function lwcForward(td: TrainDevice, s: LwcShape, wq: DevicePtr, w: DevicePtr, mx: DevicePtr, mn: DevicePtr, gamma: DevicePtr, beta: DevicePtr, wq16: DevicePtr = 0, w16: DevicePtr = 0): void {
  td.launch("lwc.cu", "lwc_fwd", warps(s.groups), 256, [ptr(wq), ptr(wq16), ptr(w), ptr(w16), ptr(mx), ptr(mn), ptr(gamma), ptr(beta), i64(s.groups), i32(s.g), i32(s.bits), i32(s.sym ? 1 : 0)]);
}

/** dγ, dβ [groups] (written) from dŴ (fp32, or bf16 with dwqBf16: the bf16 GEMM mode's dW); w16 as lwcForward */
export function lwcBackward(td: TrainDevice, s: LwcShape, dgamma: DevicePtr, dbeta: DevicePtr, dwq: DevicePtr, w: DevicePtr, mx: DevicePtr, mn: DevicePtr, gamma: DevicePtr, beta: DevicePtr, dwqBf16 = false, w16: DevicePtr = 0): void {
  td.launch("lwc.cu", "lwc_bwd", warps(s.groups), 256, [ptr(dgamma), ptr(dbeta), ptr(dwq), ptr(w), ptr(w16), ptr(mx), ptr(mn), ptr(gamma), ptr(beta), i64(s.groups), i32(s.g), i32(s.bits), i32(s.sym ? 1 : 0), i32(dwqBf16 ? 1 : 0)]);
}

/** w16 [n] (bf16) = w [n] rounded to nearest even; *inexact (uint32) |= 1 unless every value is a bf16 value */
export function lwcWeightBf16(td: TrainDevice, w16: DevicePtr, w: DevicePtr, n: number, inexact: DevicePtr): void {
  td.elementwise("lwc.cu", "lwc_w_bf16", n, [ptr(w16), ptr(w), i64(n), ptr(inexact)]);
}

/** dW [groups·g] (written) = dL/dW through the quantizer (lwc.ts inputGrad); dw must not alias dwq */
export function lwcInputGrad(td: TrainDevice, s: LwcShape, dw: DevicePtr, dwq: DevicePtr, w: DevicePtr, mx: DevicePtr, mn: DevicePtr, gamma: DevicePtr, beta: DevicePtr): void {
  td.launch("lwc.cu", "lwc_input_grad", warps(s.groups), 256, [ptr(dw), ptr(dwq), ptr(w), ptr(mx), ptr(mn), ptr(gamma), ptr(beta), i64(s.groups), i32(s.g), i32(s.bits), i32(s.sym ? 1 : 0)]);
}

export interface AdamWConfig {
  lr: number;
  wd?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** one AdamW update of p [n] with gradient g, moments m, v, at step t (1-based; the caller counts) */
export function adamwStep(td: TrainDevice, c: AdamWConfig, t: number, p: DevicePtr, g: DevicePtr, m: DevicePtr, v: DevicePtr, n: number): void {
  const beta1 = c.beta1 ?? 0.9;
  const beta2 = c.beta2 ?? 0.999;
  const bc1 = 1 - beta1 ** t;
  const bc2s = Math.sqrt(1 - beta2 ** t);
  td.elementwise("adamw.cu", "adamw_step", n, [ptr(p), ptr(g), ptr(m), ptr(v), i64(n), f64(c.lr), f64(c.wd ?? 0), f64(beta1), f64(beta2), f64(c.eps ?? 1e-8), f64(c.lr / bc1), f64(bc2s)]);
}
