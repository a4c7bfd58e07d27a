// Recipe → artifact: validate, plan the pass against the model (errors before any tensor is read), stream the
// transformed checkpoint into a temp dir with the recipe and report, rename into place; then optional eval gates.

import { join, resolve } from "node:path";
import { openCheckpoint } from "../model/checkpoint.js";
import { getPass } from "../passes/registry.js";
import { recipeFingerprint, saveRecipe, RECIPE_FILE } from "../recipe/io.js";
import type { Recipe } from "../recipe/schema.js";
import { InputError } from "../util/errors.js";
import type { Emit } from "../util/events.js";
import { writeAtomically } from "./atomic-dir.js";
import { dirBytes, inputFingerprint, MEMC_VERSION, writeReport, type Report, REPORT_FILE } from "./report.js";
import { writeTransformedCheckpoint } from "./write-checkpoint.js";
import { runPackedRecipe } from "./run-packed.js";

export interface RunOptions {
  overwrite?: boolean;
  command?: string;
}

export async function runRecipe(recipe: Recipe, emit: Emit, opts: RunOptions = {}): Promise<Report> {
  if (recipe.output.format !== "fake-quant") return runPackedRecipe(recipe, emit, opts, runRecipe);
  if (recipe.passes.length !== 1) throw new InputError(`recipe has ${recipe.passes.length} passes; chaining passes is not supported yet (use one pass per run)`);
  const step = recipe.passes[0]!;
  const pass = getPass(step.method);
  const params = pass.params.parse(step.params);
  const ckpt = await openCheckpoint(recipe.model);
  try {
    const t0 = performance.now();
    const planned = await pass.plan({ ckpt, emit }, params);
    const total = planned.replaced.length;
    let done = 0;
    const replaced = new Set(planned.replaced);
    return await writeAtomically(recipe.output.dir, opts.overwrite ?? false, async (dir) => {
      const { files } = await writeTransformedCheckpoint(ckpt, dir, planned.transform, {
        maxShardBytes: recipe.output.shard_bytes,
        ...(planned.config ? { rawConfig: { ...ckpt.rawConfig, ...planned.config } } : {}),
        onTensor: (name) => {
          if (replaced.has(name)) emit({ kind: "progress", task: step.method, done: ++done, total, unit: "tensors", detail: name });
        },
      });
      const seconds = (performance.now() - t0) / 1000;
      await saveRecipe(join(dir, RECIPE_FILE), recipe);
      const input = inputFingerprint(ckpt);
      const outBytes = dirBytes(dir, files);
      const report: Report = {
        memc: MEMC_VERSION,
        created: new Date().toISOString(),
        command: opts.command ?? "memc run",
        recipeFingerprint: recipeFingerprint(recipe),
        input,
        output: { dir: resolve(recipe.output.dir), bytes: outBytes, files: [...files, RECIPE_FILE, REPORT_FILE] },
        passes: [{ method: pass.name, reference: pass.reference, seconds, details: planned.details }],
        versions: { node: process.version, memc: MEMC_VERSION },
      };
      await writeReport(dir, report);
      return report;
    });
  } finally {
    await ckpt.weights.close();
  }
}
