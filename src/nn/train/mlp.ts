// SwiGLU MLP (transformers LlamaMLP / MixtralBlockSparseTop2MLP: down(silu(gate(x)) ⊙ up(x))) forward/backward.

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
  a: Float32Array;
}

/** x: [M, D] → [M, D] */
export async function mlp_forward(x: Float32Array, w: MlpWeights, M: number, D: number, F: number): Promise<{ out: Float32Array; cache: MlpCache }> {
  const g = await linear_forward(x, w.gate, M, D, F);
  const u = await linear_forward(x, w.up, M, D, F);
  const a = swiglu_forward(g, u);
  const out = await linear_forward(a, w.down, M, F, D);
  return { out, cache: { x, g, u, a } };
}

/** dout: [M, D] → dx [M, D] and weight grads */
export async function mlp_backward(dout: Float32Array, c: MlpCache, w: MlpWeights, M: number, D: number, F: number): Promise<{ dx: Float32Array; dw: MlpWeights }> {
  const dd = await linear_backward(dout, c.a, w.down, M, F, D);
  const { dgate, dup } = swiglu_backward(dd.dx!, c.g, c.u);
  const dg = await linear_backward(dgate, c.x, w.gate, M, D, F);
  const du = await linear_backward(dup, c.x, w.up, M, D, F);
  const dx = dg.dx!;
  for (let i = 0; i < dx.length; i++) dx[i] = dx[i]! + du.dx![i]!;
  return { dx, dw: { gate: dg.dw, up: du.dw, down: dd.dw } };
}
