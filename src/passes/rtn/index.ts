// RTN: round-to-nearest group quantization of every Linear inside the decoder layers (never embeddings,
// lm_head, norms or MoE routers) — the deterministic baseline of ../shared/fixtures/README.md (`rtn_wBgG`).

import { z } from "zod";
import { LINEAR_KINDS, linearKind, quantizableLinears } from "../../model/names.js";
import type { PassDefinition } from "../types.js";
import { ACT_QUANT_KEY, actQuantConfig } from "../../model/act-quant-config.js";
import { checkGroup, dequantizeGroups, quantizeGroups, type QuantSpec } from "./quantize.js";

export const rtnParams = z
  .object({
    wbits: z.number().int().min(2).max(8),
    group_size: z.number().int().min(-1),
    sym: z.boolean().default(false),
    /** Leave these parts of each layer unquantized (reference.json's MoE rtn rows quantize attention only). */
    exclude: z.array(z.enum(LINEAR_KINDS as [string, ...string[]])).default([]),
    /** activation bits applied at run time (per-token dynamic asymmetric; config.json memc_activation_quant): the
     *  W4A4 baseline next to OmniQuant LET */
    abits: z.number().int().refine((v) => v === 4 || v === 6 || v === 8, "activation bits must be 4, 6 or 8").optional(),
  })
  .strict();

export type RtnParams = z.infer<typeof rtnParams>;

export function quantSpec(p: RtnParams): QuantSpec {
  return { bits: p.wbits, groupSize: p.group_size, sym: p.sym };
}

export const rtn: PassDefinition<RtnParams> = {
  name: "rtn",
  reference: "round-to-nearest, asymmetric per (row, group): OmniQuant quantize/quantizer.py with clipping off",
  params: rtnParams,
  needsCalibration: false,
  async plan({ ckpt }, params) {
    const spec = quantSpec(params);
    const targets = new Map<string, [number, number]>();
    for (let i = 0; i < ckpt.spec.layers; i++) {
      for (const m of quantizableLinears(ckpt.spec, i)) {
        if (params.exclude.includes(linearKind(m))) continue;
        const name = `${m}.weight`;
        const [rows, cols] = ckpt.weights.info(name).shape as [number, number];
        checkGroup(name, cols, spec.groupSize);
        targets.set(name, [rows, cols]);
      }
    }
    return {
      replaced: [...targets.keys()],
      details: { bits: spec.bits, groupSize: spec.groupSize, sym: spec.sym, exclude: params.exclude, layers: targets.size, ...(params.abits ? { abits: params.abits } : {}) },
      ...(params.abits ? { config: { [ACT_QUANT_KEY]: actQuantConfig(params.abits) } } : {}),
      transform: (name) => {
        const shape = targets.get(name);
        if (!shape) return undefined;
        return {
          compute: async () => dequantizeGroups(quantizeGroups(await ckpt.weights.f32(name), shape[0], shape[1], spec)),
        };
      },
    };
  },
};
