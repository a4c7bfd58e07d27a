// SwiGLU MLP forward/backward on the device (src/nn/train/mlp.ts; transformers LlamaMLP): down(silu(gate(x)) ⊙ up(x)).
// With `aq` (weight-activation mode) down_proj's input is fake-quantized per token, as mlp_forward(…, abits) does.
// bf16 GEMM mode with bf16 scratch given (acts.a16, mlpBackward's g16): each GEMM operand is cast once and the copy
// serves both GEMMs that read it (a: down forward + down dW; dout: down dW + dx; dg, du: dW + dx) — context.ts operand().

import type { DevicePtr } from "../../../runtime/cuda/ffi/driver.js";
import { actQuantBackward, actQuantForward } from "./act-quant.js";
import { i64, ptr, type Operand, type TrainDevice } from "./context.js";
import type { DevMlp } from "./weights.js";

/** activations of one MLP call: g, u, a [M, F] (caller-owned) */
export interface DevMlpActs {
  g: DevicePtr;
  u: DevicePtr;
  a: DevicePtr;
  /** weight-activation mode: activation bits and the pre-quant swiglu output [M, F] (a then holds its fake-quant) */
  aq?: { bits: number; raw: DevicePtr };
  /** bf16 mode: a bf16 [M, F] buffer that keeps the cast of `a` from the forward for the backward's dW GEMM */
  a16?: DevicePtr;
}

/** x [M, D] → out [M, D]; in bf16 mode with acts.a16 (and no aq) only the bf16 a is written */
export function mlpForward(td: TrainDevice, x: Operand, w: DevMlp, M: number, D: number, F: number, acts: DevMlpActs, out: DevicePtr): void {
  td.linear(acts.g, x, w.gate, M, D, F);
  td.linear(acts.u, x, w.up, M, D, F);
  if (!acts.aq && acts.a16 && td.mode === "bf16") {
    // the bf16 copy straight from the swiglu (the fp32 a is not needed: the backward's dW reads a16)
    td.elementwise("train_elementwise.cu", "swiglu_fwd_bf16", M * F, [ptr(acts.a16), ptr(acts.g), ptr(acts.u), i64(M * F)]);
    return td.linear(out, { b16: acts.a16 }, w.down, M, F, D);
  }
  const sw = acts.aq ? acts.aq.raw : acts.a;
  td.elementwise("train_elementwise.cu", "swiglu_fwd", M * F, [ptr(sw), ptr(acts.g), ptr(acts.u), i64(M * F)]);
  if (acts.aq) actQuantForward(td, acts.a, sw, M, F, acts.aq.bits);
  td.linear(out, td.operand(acts.a, M * F, acts.a16), w.down, M, F, D);
}

/** scratch [3·M·F]; dx [M, D] written (beta 0) or added (beta 1); onGrad(part, dW) once per weight, dW valid only
 *  during the call (it lives in dwScratch). x: the forward's operand (its bf16 copy must still hold x). g16: bf16 mode,
 *  a bf16 [M, D] scratch for dout's cast (dg, du are written in bf16 into dg's third of scratch). dw16 (bf16 mode): the dW
 *  handed to onGrad are bf16. */
export function mlpBackward(
  td: TrainDevice, dout: DevicePtr, x: Operand, w: DevMlp, acts: DevMlpActs, M: number, D: number, F: number,
  scratch: DevicePtr, dwScratch: DevicePtr, dx: DevicePtr, onGrad: (part: keyof DevMlp, dw: DevicePtr) => void, dxBeta = 0, g16?: DevicePtr, dw16 = false,
): void {
  const da = scratch;
  const dg = scratch + M * F * 4;
  const du = scratch + 2 * M * F * 4;
  const lp = td.mode === "bf16";
  const a: Operand = lp && acts.a16 ? { b16: acts.a16 } : acts.a;
  const dO = td.operand(dout, M * D, g16);
  td.linearDw(dwScratch, dO, a, M, F, D, dw16);
  onGrad("down", dwScratch);
  td.linearDx(da, dO, w.down, M, F, D);
  if (acts.aq) actQuantBackward(td, da, da, acts.aq.raw, M, F, acts.aq.bits);
  let dgO: Operand = dg, duO: Operand = du;
  if (lp && g16) {
    // dg, du straight to bf16 (only the GEMMs read them), both in dg's M·F fp32 slots
    td.elementwise("train_elementwise.cu", "swiglu_bwd_bf16", M * F, [ptr(dg), ptr(dg + M * F * 2), ptr(da), ptr(acts.g), ptr(acts.u), i64(M * F)]);
    [dgO, duO] = [{ b16: dg }, { b16: dg + M * F * 2 }];
  } else td.elementwise("train_elementwise.cu", "swiglu_bwd", M * F, [ptr(dg), ptr(du), ptr(da), ptr(acts.g), ptr(acts.u), i64(M * F)]);
  td.linearDw(dwScratch, dgO, x, M, D, F, dw16);
  onGrad("gate", dwScratch);
  td.linearDw(dwScratch, duO, x, M, D, F, dw16);
  onGrad("up", dwScratch);
  td.linearDx(dx, dgO, w.gate, M, D, F, dxBeta);
  td.linearDx(dx, duO, w.up, M, D, F, 1);
}
