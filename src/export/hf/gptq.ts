// GPTQ int32 packing (AutoGPTQ/GPTQModel layout, formats.md §2): qweight packed along K, qzeros along N,
// fp16 scales [G, N], g_idx [K]. v1 ("gptq") stores zero−1, v2 ("gptq_v2") the zero itself.

import { InputError } from "../../util/errors.js";
import { packCols, packRows, transpose, unpackCols, unpackRows } from "./bits.js";
import { shiftZeros, type QuantLinear } from "./qlinear.js";

export type GptqFormat = "gptq" | "gptq_v2";

export interface GptqTensors {
  /** [K·b/32, N] */
  qweight: Int32Array;
  /** [G, N·b/32] */
  qzeros: Int32Array;
  /** [G, N] (stored as F16; values here are fp32, already rounded by the caller if wanted) */
  scales: Float32Array;
  /** [K] */
  gIdx: Int32Array;
}

export function gptqShapes(N: number, K: number, bits: number, groupSize: number): Record<keyof GptqTensors, number[]> {
  const G = K / groupSize;
  return { qweight: [(K * bits) / 32, N], qzeros: [G, (N * bits) / 32], scales: [G, N], gIdx: [K] };
}

/** memc codes (ŵ = (q − z)·s, q/z/s [N, ·]) → GPTQ tensors. Symmetric layers get z = 2^(b−1) (what Marlin and
 *  ExLlama assume); asymmetric zeros must fit 1..2^b−1 for v1 (0..2^b−1 for v2) after a value-preserving shift. */
export function packGptq(ql: QuantLinear, format: GptqFormat, what = "linear"): GptqTensors {
  const { rows: N, cols: K, bits, groupSize: g } = ql;
  const pf = 32 / bits;
  if (K % pf !== 0 || N % pf !== 0) throw new InputError(`${what}: GPTQ ${bits}-bit needs in (${K}) and out (${N}) features divisible by ${pf}`);
  const qmax = 2 ** bits - 1;
  const half = 2 ** (bits - 1);
  const sh = ql.sym ? shiftZeros(ql, 0, qmax, what, half) : shiftZeros(ql, format === "gptq" ? 1 : 0, qmax, what);
  const G = K / g;
  const qweight = packCols(transpose(sh.q, N, K), K, N, bits); // q as [K, N], packed along K
  const zStored = new Uint8Array(G * N);
  const scales = new Float32Array(G * N);
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < G; gi++) {
      zStored[gi * N + n] = format === "gptq" ? sh.zero[n * G + gi]! - 1 : sh.zero[n * G + gi]!;
      scales[gi * N + n] = ql.scale[n * G + gi]!;
    }
  }
  const qzeros = packRows(zStored, G, N, bits);
  const gIdx = Int32Array.from({ length: K }, (_, k) => Math.floor(k / g));
  return { qweight, qzeros, scales, gIdx };
}

/** GPTQ tensors → codes q [N, K], integer zeros [N, G] and scales [N, G] in memc's orientation. */
export function unpackGptq(t: GptqTensors, N: number, K: number, bits: number, format: GptqFormat, what = "linear"): { q: Uint8Array; zero: Int32Array; scale: Float32Array; groupSize: number } {
  const G = t.scales.length / N;
  if (!Number.isInteger(G) || K % G !== 0) throw new InputError(`${what}: scales hold ${t.scales.length} values, not [G, ${N}] with G dividing ${K}`);
  const g = K / G;
  for (let k = 0; k < K; k++) {
    if (t.gIdx[k] !== Math.floor(k / g)) throw new InputError(`${what}: g_idx[${k}] = ${t.gIdx[k]} (act-order / desc_act checkpoints are not supported; expected ${Math.floor(k / g)})`);
  }
  const qKN = unpackCols(t.qweight, K, N, bits); // [K, N]
  const q = transpose(qKN, K, N); // [N, K]
  const zGN = unpackRows(t.qzeros, G, N, bits);
  const zero = new Int32Array(N * G);
  const scale = new Float32Array(N * G);
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < G; gi++) {
      zero[n * G + gi] = format === "gptq" ? zGN[gi * N + n]! + 1 : zGN[gi * N + n]!; // v1 stores zero−1
      scale[n * G + gi] = t.scales[gi * N + n]!;
    }
  }
  return { q, zero, scale, groupSize: g };
}
