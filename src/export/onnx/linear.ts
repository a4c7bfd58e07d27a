// Linear layers as ONNX nodes: y = x·Wᵀ with W [N, K] as a plain MatMul initializer Wᵀ [K, N] (fp32, or fp16 +
// Cast so compute stays fp32), or as com.microsoft MatMulNBits (formats.md §4.1) when codes are given.

import { f32ToF16 } from "../../runtime/dtypes.js";
import { shiftZeros, type QuantLinear } from "../hf/qlinear.js";
import { GraphBuilder, T } from "./builder.js";

export type WeightDtype = "fp32" | "fp16";

/** codes [rows, cols] (< 2^bits) → bytes [rows, ceil(cols·bits/8)], element 0 in the low bits (bits 4 or 8). */
export function packBytes(codes: ArrayLike<number>, rows: number, cols: number, bits: number): Uint8Array {
  const per = 8 / bits;
  const bc = Math.ceil(cols / per);
  const out = new Uint8Array(rows * bc);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * bc + Math.floor(c / per)]! |= codes[r * cols + c]! << ((c % per) * bits);
  return out;
}

/** w [N, K] → its transpose [K, N] */
export function transposeF32(w: Float32Array, N: number, K: number): Float32Array {
  const t = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = w[n * K + k]!;
  return t;
}

/** Dense float initializer (fp32, or fp16 followed by Cast→fp32); returns the fp32 value name. */
export function floatInit(g: GraphBuilder, name: string, dims: number[], v: Float32Array, dtype: WeightDtype): string {
  if (dtype === "fp32") return g.f32(name, dims, v);
  const h = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) h[i] = f32ToF16(v[i]!);
  g.init(`${name}_fp16`, T.FLOAT16, dims, new Uint8Array(h.buffer));
  return g.node("Cast", [`${name}_fp16`], [name], { to: T.FLOAT })[0]!;
}

/** Whether MatMulNBits can hold this layer (bits 4/8, block = group a power of two ≥ 16). */
export function nbitsOk(ql: QuantLinear): boolean {
  const b = ql.groupSize;
  return (ql.bits === 4 || ql.bits === 8) && b >= 16 && (b & (b - 1)) === 0 && ql.cols % b === 0;
}

/** x [.., K] → [.., N]. With `ql` (and nbitsOk) a MatMulNBits node, else MatMul with Wᵀ. */
export function linear(g: GraphBuilder, x: string, mod: string, w: Float32Array, N: number, K: number, dtype: WeightDtype, ql?: QuantLinear): string {
  if (ql && nbitsOk(ql)) {
    const half = 2 ** (ql.bits - 1);
    const sh = ql.sym ? shiftZeros(ql, 0, 2 ** ql.bits - 1, mod, half) : shiftZeros(ql, 0, 2 ** ql.bits - 1, mod);
    const bs = ql.groupSize;
    const kb = K / bs;
    const blob = (bs * ql.bits) / 8;
    const inputs = [x, g.init(`${mod}.qweight`, T.UINT8, [N, kb, blob], packBytes(sh.q, N, K, ql.bits)), g.f32(`${mod}.scales`, [N, kb], ql.scale)];
    if (!ql.sym) inputs.push(g.init(`${mod}.qzeros`, T.UINT8, [N, Math.ceil((kb * ql.bits) / 8)], packBytes(sh.zero, N, kb, ql.bits)));
    return g.node("MatMulNBits", inputs, 1, { K, N, bits: ql.bits, block_size: bs, accuracy_level: 0 }, "com.microsoft", `${mod}.MatMulNBits`)[0]!;
  }
  const wt = floatInit(g, `${mod}.weight_t`, [K, N], transposeF32(w, N, K), dtype);
  return g.node("MatMul", [x, wt], 1, {}, "", `${mod}.MatMul`)[0]!;
}
