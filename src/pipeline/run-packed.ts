// Recipes whose output format is a packed artifact (onnx, ct, gptq, gguf): the pass writes a fake-quant checkpoint
// into a scratch directory, src/export packs it into the output directory (atomically), and the resolved recipe and
// a report holding both steps replace the scratch ones.

import { rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { exportArtifact, type ExportFormat } from "../export/index.js";
import type { GgufType } from "../export/gguf/export.js";
import { recipeToYaml, RECIPE_FILE } from "../recipe/io.js";
import type { Recipe } from "../recipe/schema.js";
import type { Emit } from "../util/events.js";
import { REPORT_FILE, type Report } from "./report.js";

/** GGUF block types hold 32 weights: W4 g32 maps onto Q4_1 (asymmetric) or Q4_0 (symmetric); anything else is
 *  written as F16 (the fake-quant values, unpacked) and said so. */
function ggufTypeFor(recipe: Recipe, emit: Emit): GgufType {
  const p = recipe.passes[0]!.params as { wbits?: number; group_size?: number; sym?: boolean };
  if (p.wbits === 4 && p.group_size === 32) return p.sym ? "q4_0" : "q4_1";
  emit({ kind: "log", level: "warn", message: `gguf: W${p.wbits} g${p.group_size} has no GGUF block type (Q4_0/Q4_1 need 4 bits, group 32); writing F16` });
  return "f16";
}

type RunFakeQuant = (recipe: Recipe, emit: Emit, opts: { overwrite?: boolean; command?: string }) => Promise<Report>;

export async function runPackedRecipe(recipe: Recipe, emit: Emit, opts: { overwrite?: boolean; command?: string }, runFakeQuant: RunFakeQuant): Promise<Report> {
  const out = resolve(recipe.output.dir);
  const scratch = `${out}.fakequant-${process.pid}`;
  try {
    const fq = await runFakeQuant({ ...recipe, output: { ...recipe.output, dir: scratch, format: "fake-quant" } }, emit, { ...opts, overwrite: true });
    emit({ kind: "log", level: "info", message: `packing as ${recipe.output.format}…` });
    const ggufType = recipe.output.format === "gguf" ? ggufTypeFor(recipe, emit) : undefined;
    const exp = await exportArtifact(scratch, out, { format: recipe.output.format as ExportFormat, force: opts.overwrite === true, ...(ggufType ? { ggufType } : {}) });
    const report: Report = { ...fq, output: { dir: out, bytes: exp.artifactBytes, files: [] }, export: exp } as Report;
    for (const [file, text] of [[RECIPE_FILE, recipeToYaml(recipe)], [REPORT_FILE, JSON.stringify(report, null, 2) + "\n"]] as const) {
      await writeFile(join(out, `${file}.tmp`), text);
      await rename(join(out, `${file}.tmp`), join(out, file));
    }
    return report;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
