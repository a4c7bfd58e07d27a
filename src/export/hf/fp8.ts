// compressed-tensors `float-quantized` FP8 weights (formats.md §3.3), weight-only (W8A16, no activation scheme):
// per output channel scale = absmax/448 stored in the model dtype, weight = e4m3fn(clamp(W/scale, ±448)), RNE.

import { decodeFloat8, encodeFloat8 } from "../../runtime/float8.js";
import type { Dtype } from "../../model/safetensors/dtypes.js";
import { roundScales } from "./codes.js";

export const E4M3_MAX = 448;

export interface Fp8Channel {
  /** [N, K] F8_E4M3 codes */
  weight: Uint8Array;
  /** [N] per-channel scales, already rounded to the storage dtype */
  scale: Float32Array;
}

/** w [N, K] fp32 → FP8 codes with per-row scales (scale 1 for an all-zero row). */
export function quantizeFp8Channel(w: Float32Array, N: number, K: number, scaleDtype: Dtype): Fp8Channel {
  const raw = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(w[n * K + k]!));
    raw[n] = m > 0 ? Math.fround(m / E4M3_MAX) : 1;
  }
  const scale = roundScales(raw, scaleDtype);
  const weight = new Uint8Array(N * K);
  for (let n = 0; n < N; n++) {
    const s = scale[n]!;
    for (let k = 0; k < K; k++) {
      const x = Math.fround(w[n * K + k]! / s);
      weight[n * K + k] = encodeFloat8(Math.min(E4M3_MAX, Math.max(-E4M3_MAX, x)), "e4m3");
    }
  }
  return { weight, scale };
}

/** FP8 codes [N, K] and scales [N] → fp32 [N, K] = decode(code)·scale. */
export function dequantizeFp8Channel(weight: Uint8Array, scale: Float32Array, N: number, K: number): Float32Array {
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[n * K + k] = Math.fround(decodeFloat8(weight[n * K + k]!, "e4m3") * scale[n]!);
  return out;
}

/** compressed-tensors config for weight-only FP8 (vLLM: CompressedTensorsW8A16Fp8). */
export function ctFp8Config(ignore: string[]): Record<string, unknown> {
  const weights = { num_bits: 8, type: "float", symmetric: true, strategy: "channel", group_size: null, dynamic: false, actorder: null, block_structure: null, observer: "minmax", observer_kwargs: {} };
  return {
    quant_method: "compressed-tensors", version: "0.18.0", format: "float-quantized", quantization_status: "compressed",
    global_compression_ratio: null, kv_cache_scheme: null, sparsity_config: {}, transform_config: {}, ignore,
    config_groups: { group_0: { targets: ["Linear"], format: "float-quantized", weights, input_activations: null, output_activations: null } },
  };
}
