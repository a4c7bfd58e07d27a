// The recipe: data that says what to do (model, passes with params, output, optional eval gates).
// Strict: unknown keys are errors; each pass's params are validated by that pass's own schema.

import { z } from "zod";

export const passStep = z
  .object({
    method: z.string(),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const recipeSchema = z
  .object({
    memc: z.literal(1),
    model: z.string(),
    passes: z.array(passStep).min(1),
    output: z
      .object({
        dir: z.string(),
        /** fake-quant = HF checkpoint of dequantized weights; the others are packed by src/export. */
        format: z.enum(["fake-quant", "onnx", "ct", "ct-fp8", "gptq", "gptq_v2", "gguf"]).default("fake-quant"),
        shard_bytes: z.number().int().positive().optional(),
      })
      .strict(),
    eval: z
      .object({
        ppl: z.array(z.string()).min(1),
        seqlen: z.number().int().min(2).optional(),
        device: z.string().default("cpu"),
        /** Fail the run when ppl grows by more than this fraction over the input model's. */
        max_ppl_increase: z.number().positive().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Recipe = z.infer<typeof recipeSchema>;
export type PassStep = z.infer<typeof passStep>;
