// How a checkpoint records that its activations are fake-quantized at run time (OmniQuant weight-activation mode,
// `--abits`): config.json `memc_activation_quant`. The weights of such a checkpoint are plain (fake-quant) tensors;
// `memc eval` reads this key and applies Ops.actQuant where OmniQuant's QuantLlamaDecoderLayer has act quantizers
// (models/int_llama_layer.py): the input of every Linear of the decoder layers, and q, k (after RoPE) and v per
// (token, head). Softmax probabilities, norms, the router, lm_head and embeddings stay in full precision.
// (Not `quantization_config`: that key means a packed format to the HF loaders and to memc's weight source.)

import { InputError } from "../util/errors.js";

export const ACT_QUANT_KEY = "memc_activation_quant";

export interface ActQuantConfig {
  bits: number;
  granularity: "per_token";
  dynamic: true;
  symmetric: false;
  /** where the quantizers sit, for readers of config.json */
  targets: string[];
  reference: string;
}

export function actQuantConfig(bits: number): ActQuantConfig {
  return {
    bits, granularity: "per_token", dynamic: true, symmetric: false,
    targets: ["decoder_linear_inputs", "q_after_rope_per_head", "k_after_rope_per_head", "v_per_head"],
    reference: "OpenGVLab/OmniQuant quantize/quantizer.py UniformAffineQuantizer per_token dynamic, asymmetric",
  };
}

/** The activation bits a config.json asks for, or undefined (full-precision activations). */
export function parseActQuant(raw: Record<string, unknown>, where = "config.json"): number | undefined {
  const v = raw[ACT_QUANT_KEY] as Partial<ActQuantConfig> | undefined;
  if (v === undefined) return undefined;
  if (typeof v !== "object" || v === null) throw new InputError(`${where}: ${ACT_QUANT_KEY} must be an object`);
  if (typeof v.bits !== "number" || !Number.isInteger(v.bits) || v.bits < 2 || v.bits > 16) throw new InputError(`${where}: ${ACT_QUANT_KEY}.bits must be an integer in [2, 16]`);
  if (v.granularity !== "per_token" || v.dynamic !== true || v.symmetric !== false) {
    throw new InputError(`${where}: ${ACT_QUANT_KEY}: only per_token dynamic asymmetric activation quantization is supported`);
  }
  return v.bits;
}
