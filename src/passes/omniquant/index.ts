// OmniQuant (Shao et al., ICLR 2024; OpenGVLab/OmniQuant main.py + quantize/omniquant.py): block-wise reconstruction
// with learnable weight clipping (LWC), weight-only: the configuration the reference's W2/W3/W4 scripts run (`--lwc`).
// Weight-activation mode (the reference's W6A6/W4A4 scripts): `abits` (per-token dynamic asymmetric activation fake-quant
// during training, recorded in config.json memc_activation_quant for eval) and `let` (LET scales, folded into the weights
// and norms). Defaults as the issue asks: let_lr 5e-3, alpha 0.5 (the reference's W4A4 script uses 1e-3 and 0.75).
// The training runs in plan(); the transform hands out the results.

import { z } from "zod";
import { InputError } from "../../util/errors.js";
import type { PassDefinition } from "../types.js";
import type { Emit } from "../../util/events.js";
import { quantizableLinears } from "../../model/names.js";
import { ACT_QUANT_KEY, actQuantConfig } from "../../model/act-quant-config.js";
import { letNormNames, quantizedTensor, runOmniQuant, type OmniQuantOptions, type OmniQuantResult } from "./run.js";

export { quantizedTensor, runOmniQuant, type OmniQuantOptions, type OmniQuantResult };

export const omniquantParams = z
  .object({
    wbits: z.number().int().min(2).max(8),
    group_size: z.number().int().min(-1),
    sym: z.boolean().default(false),
    calib: z.string(),
    nsamples: z.number().int().min(1).default(128),
    seqlen: z.number().int().min(2).default(512),
    epochs: z.number().int().min(0).default(20),
    seed: z.number().int().min(0).default(2),
    lwc_lr: z.number().positive().default(1e-2),
    abits: z.number().int().refine((v) => v === 4 || v === 6 || v === 8, "activation bits must be 4, 6 or 8").optional(),
    let: z.boolean().default(false),
    let_lr: z.number().positive().default(5e-3),
    /** the reference's --aug_loss (W2 scripts): also fit the fp layer's output on the quantized inputs */
    aug_loss: z.boolean().default(false),
    alpha: z.number().min(0).max(1).default(0.5),
    /** per-layer resume state (`memc quantize` uses OUT.omniquant-state) */
    state_dir: z.string().optional(),
    /** dtype of the written fake-quant Linear weights; F32 keeps Ŵ = (q − z)·h exact */
    dtype: z.enum(["F32", "BF16", "F16"]).default("F32"),
    /** where the layer training runs; auto = cuda when usable, else cpu (said in the log) */
    device: z.enum(["cpu", "cuda", "auto"]).default("cpu"),
    /** cuda GEMM precision: fp32 (matches the CPU oracle), tf32 or bf16 tensor cores */
    gemm: z.enum(["fp32", "tf32", "bf16"]).default("fp32"),
  })
  .strict();

export type OmniQuantParams = z.infer<typeof omniquantParams>;

export function toOptions(p: OmniQuantParams): OmniQuantOptions {
  return {
    wbits: p.wbits, groupSize: p.group_size, sym: p.sym, calib: p.calib, nsamples: p.nsamples, seqlen: p.seqlen,
    epochs: p.epochs, seed: p.seed, lwcLr: p.lwc_lr, ...(p.state_dir ? { stateDir: p.state_dir } : {}),
    ...(p.abits ? { abits: p.abits } : {}), ...(p.let ? { let: true, letLr: p.let_lr, alpha: p.alpha } : {}),
    ...(p.aug_loss ? { augLoss: true } : {}),
  };
}

/** --device auto|cuda|cpu → where the training runs (auto falls back to cpu and says why; cuda fails if unusable) */
export async function resolveDevice(device: OmniQuantParams["device"], emit: Emit): Promise<{ device: "cpu" | "cuda" }> {
  if (device === "cpu") return { device };
  const { probeCuda } = await import("../../runtime/cuda/probe.js");
  const r = probeCuda();
  if (r.ok) return { device: "cuda" };
  if (device === "cuda") throw new InputError(`--device cuda: CUDA is not usable here (${r.reason})`);
  emit({ kind: "log", level: "info", message: `omniquant --device auto: training on cpu (cuda not usable: ${r.reason})` });
  return { device: "cpu" };
}

export const omniquant: PassDefinition<OmniQuantParams> = {
  name: "omniquant",
  reference: "OmniQuant LWC (Shao et al. 2024), OpenGVLab/OmniQuant quantize/omniquant.py + quantizer.py; block-wise MSE reconstruction, AdamW, round_ste",
  params: omniquantParams,
  needsCalibration: true,
  async plan({ ckpt, emit }, params) {
    const opts = { ...toOptions(params), ...(await resolveDevice(params.device, emit)), gemm: params.gemm };
    if (params.seqlen > ckpt.spec.maxPositions) throw new InputError(`--seqlen ${params.seqlen}: exceeds the model's max_position_embeddings ${ckpt.spec.maxPositions}`);
    // with a state dir, Ŵ is rebuilt per tensor from the saved γ, β while writing (memory: one layer, not the model)
    const lazy = opts.stateDir !== undefined;
    const res: OmniQuantResult = await runOmniQuant(ckpt, { ...opts, keepWeights: !lazy }, emit);
    const names = Array.from({ length: ckpt.spec.layers }, (_, i) => [...quantizableLinears(ckpt.spec, i).map((m) => `${m}.weight`), ...(params.let ? letNormNames(ckpt, i) : [])]).flat();
    const wanted = new Set(names);
    const cache = {};
    return {
      replaced: names,
      details: {
        bits: params.wbits, groupSize: params.group_size, sym: params.sym, nsamples: params.nsamples, seqlen: params.seqlen, epochs: params.epochs,
        seed: params.seed, lwcLr: params.lwc_lr, device: opts.device, ...(opts.device === "cuda" ? { gemm: params.gemm } : {}),
        ...(params.abits ? { abits: params.abits } : {}), ...(params.let ? { let: true, letLr: params.let_lr, alpha: params.alpha } : {}), ...(params.aug_loss ? { augLoss: true } : {}), calibTokens: res.calibTokens, resumedLayers: res.resumed, dtype: params.dtype,
        layers: res.layers.map((l) => ({ layer: l.layer, mseBefore: l.lossBefore, mseAfter: l.lossAfter, seconds: Number(l.seconds.toFixed(2)), epochLoss: l.epochLoss })),
      },
      ...(params.abits ? { config: { [ACT_QUANT_KEY]: actQuantConfig(params.abits) } } : {}),
      transform: (name) => {
        if (!wanted.has(name)) return undefined;
        return { dtype: params.dtype, compute: async () => (lazy ? quantizedTensor(ckpt, opts, name, cache) : res.weights.get(name)!) };
      },
    };
  },
};
