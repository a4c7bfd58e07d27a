// SwiGLU MLP (transformers LlamaMLP / MixtralBlockSparseTop2MLP: down(silu(gate(x)) ⊙ up(x))) forward/backward.

import { actquant_backward, actquant_forward, type ActQuantCache } from "./act-quant.js";
import { linear_backward, linear_forward } from "./linear.js";
import { swiglu_backward, swiglu_forward } from "./swiglu.js";

/** gate, up: [F, D]; down: [D, F] */
export interface MlpWeights {
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
}

export interface MlpCache {
  x: Float32Array;
  g: Float32Array;
  u: Float32Array;
  /** down_proj input (activation-quantized when abits is set) */
  a: Float32Array;
  aq?: ActQuantCache;
}

/** x: [M, D] → [M, D] */
/** abits: per-token fake-quant of down_proj's input (OmniQuant QuantLinear act_quantizer; gate/up inputs are the caller's) */
export async function mlp_forward(x: Float32Array, w: MlpWeights, M: number, D: number, F: number, abits?: number): Promise<{ out: Float32Array; cache: MlpCache }> {
  const g = await linear_forward(x, w.gate, M, D, F);
  const u = await linear_forward(x, w.up, M, D, F);
  const a0 = swiglu_forward(g, u);
  const q = abits ? actquant_forward(a0, M, F, abits) : undefined;
  const a = q ? q.out : a0;
  const out = await linear_forward(a, w.down, M, F, D);
  return { out, cache: { x, g, u, a, ...(q ? { aq: q.cache } : {}) } };
}

/** dout: [M, D] → dx [M, D] and weight grads */
export async function mlp_backward(dout: Float32Array, c: MlpCache, w: MlpWeights, M: number, D: number, F: number): Promise<{ dx: Float32Array; dw: MlpWeights }> {
  const dd = await linear_backward(dout, c.a, w.down, M, F, D);
  const { dgate, dup } = swiglu_backward(c.aq ? actquant_backward(dd.dx!, c.aq) : dd.dx!, c.g, c.u);
  const dg = await linear_backward(dgate, c.x, w.gate, M, D, F);
  const du = await linear_backward(dup, c.x, w.up, M, D, F);
  const dx = dg.dx!;
  for (let i = 0; i < dx.length; i++) dx[i] = dx[i]! + du.dx![i]!;
  return { dx, dw: { gate: dg.dw, up: du.dw, down: dd.dw } };
}
