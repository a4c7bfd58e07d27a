// Linear (no bias, HF layout w [N, K]) forward/backward through the ORT GEMMs in gemm.ts.

import { gemm } from "./gemm.js";

/** x: [M, K], w: [N, K] → [M, N] = x·wᵀ */
export function linear_forward(x: Float32Array, w: Float32Array, M: number, K: number, N: number): Promise<Float32Array> {
  return gemm(x, w, M, K, N, false, true);
}

/** dout: [M, N] → dx [M, K] = dout·w (when wantDx), dw [N, K] = doutᵀ·x */
export async function linear_backward(
  dout: Float32Array, x: Float32Array, w: Float32Array, M: number, K: number, N: number, wantDx = true,
): Promise<{ dx?: Float32Array; dw: Float32Array }> {
  const dw = await gemm(dout, x, N, M, K, true, false);
  if (!wantDx) return { dw };
  const dx = await gemm(dout, w, M, N, K, false, false);
  return { dx, dw };
}
