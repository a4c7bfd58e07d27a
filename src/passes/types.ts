// What a pass is: a name, the paper it follows, a strict params schema, and a pure run over a checkpoint.

import type { z } from "zod";
import type { Checkpoint } from "../model/checkpoint.js";
import type { TensorTransform } from "../pipeline/write-checkpoint.js";
import type { Emit } from "../util/events.js";

export interface PassContext {
  ckpt: Checkpoint;
  emit: Emit;
}

export interface PassResult {
  /** Which tensors change and how (streamed when the output is written). */
  transform: TensorTransform;
  /** Names of the tensors the pass will replace (known before any is computed). */
  replaced: string[];
  /** Pass-specific numbers for the report. */
  details: Record<string, unknown>;
  /** Keys added to the output's config.json (e.g. memc_activation_quant for --abits). */
  config?: Record<string, unknown>;
}

export interface PassDefinition<P = unknown> {
  name: string;
  /** Paper or reference the pass follows (shown in --help and the report). */
  reference: string;
  params: z.ZodType<P>;
  needsCalibration: boolean;
  /** Validates against the model (e.g. group sizes) before any tensor is read, then plans the transform. */
  plan(ctx: PassContext, params: P): Promise<PassResult>;
}
