// compressed-tensors `pack-quantized` (formats.md §3.2; compressed-tensors pack_to_int32): signed codes
// q_s ∈ [−2^(b−1), 2^(b−1)−1] stored +2^(b−1), packed along K; zero points (asymmetric) packed along N.

import { InputError } from "../../util/errors.js";
import { packCols, packRows, unpackCols, unpackRows } from "./bits.js";
import { shiftZeros, type QuantLinear } from "./qlinear.js";

export interface CtTensors {
  /** [N, ceil(K·b/32)] */
  weightPacked: Int32Array;
  /** [N, G] (stored in the model dtype) */
  weightScale: Float32Array;
  /** [2] = [N, K] (stored I64) */
  weightShape: [number, number];
  /** [ceil(N·b/32), G], asymmetric only */
  weightZeroPoint?: Int32Array;
}

export function ctShapes(N: number, K: number, bits: number, groupSize: number, sym: boolean): Record<string, number[]> {
  const G = K / groupSize;
  const pf = 32 / bits;
  const out: Record<string, number[]> = { weight_packed: [N, Math.ceil(K / pf)], weight_scale: [N, G], weight_shape: [2] };
  if (!sym) out.weight_zero_point = [Math.ceil(N / pf), G];
  return out;
}

/** memc codes (ŵ = (q − z)·s) → compressed-tensors tensors. Symmetric: zp = 0, so q_s = q − z must fit the
 *  signed range; asymmetric: q_s = q − 2^(b−1), zp_s = z − 2^(b−1) (stored codes are q and z themselves). */
export function packCt(ql: QuantLinear, what = "linear"): CtTensors {
  const { rows: N, cols: K, bits, groupSize: g } = ql;
  const qmax = 2 ** bits - 1;
  const half = 2 ** (bits - 1);
  const G = K / g;
  const sh = ql.sym ? shiftZeros(ql, 0, qmax, what, half) : shiftZeros(ql, 0, qmax, what);
  // stored = q_s + half; symmetric: q_s = q' − half with z' = half ⇒ stored = q'; asymmetric: stored = q'
  const weightPacked = packRows(sh.q, N, K, bits);
  const out: CtTensors = { weightPacked, weightScale: Float32Array.from(ql.scale), weightShape: [N, K] };
  if (!ql.sym) out.weightZeroPoint = packCols(sh.zero, N, G, bits);
  return out;
}

/** compressed-tensors tensors → codes q [N, K] (unsigned, = q_s + 2^(b−1)), integer zeros [N, G] in the same
 *  offset (2^(b−1) when symmetric) and scales [N, G]; ŵ = (q − z)·s. */
export function unpackCt(t: CtTensors, bits: number, sym: boolean, what = "linear"): { q: Uint8Array; zero: Int32Array; scale: Float32Array; groupSize: number } {
  const [N, K] = t.weightShape;
  const G = t.weightScale.length / N;
  if (!Number.isInteger(G) || K % G !== 0) throw new InputError(`${what}: weight_scale holds ${t.weightScale.length} values, not [${N}, G] with G dividing ${K}`);
  const q = unpackRows(t.weightPacked, N, K, bits);
  let zero: Int32Array;
  if (sym) {
    zero = new Int32Array(N * G).fill(2 ** (bits - 1));
  } else {
    if (!t.weightZeroPoint) throw new InputError(`${what}: asymmetric scheme but no weight_zero_point`);
    zero = Int32Array.from(unpackCols(t.weightZeroPoint, N, G, bits));
  }
  return { q, zero, scale: Float32Array.from(t.weightScale), groupSize: K / G };
}
