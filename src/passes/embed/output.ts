// Artifact directory plumbing for `memc embed`: atomic write (OUT.tmp-* renamed at the end),
// memc.recipe.yaml (the fully resolved call) and memc.report.json.

import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import YAML from "yaml";
import { InputError } from "../../util/errors.js";

export const RECIPE_FILE = "memc.recipe.yaml";
export const REPORT_FILE = "memc.report.json";

/** Runs `fill(tmp)` in a sibling `OUT.tmp-<pid>-<time>` directory and renames it to `out` when it succeeds. */
export async function writeDirAtomic<T>(out: string, force: boolean, fill: (tmp: string) => Promise<T>): Promise<T> {
  const abs = resolve(out);
  if (existsSync(abs) && !force) throw new InputError(`${out}: already exists (pass --force to replace it)`);
  await mkdir(dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp);
  try {
    const r = await fill(tmp);
    if (existsSync(abs)) await rm(abs, { recursive: true, force: true });
    await rename(tmp, abs);
    return r;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

export interface EmbedRecipe {
  input: string;
  output: string;
  mode: "model" | "vectors";
  params: Record<string, unknown>;
}

export async function writeRecipe(dir: string, r: EmbedRecipe): Promise<void> {
  const doc = {
    memc: "0.1.0",
    input: r.input,
    output: r.output,
    passes: [{ name: "embed", mode: r.mode, paper: "Optimization of embeddings storage for RAG systems using quantization and dimensionality reduction techniques", params: r.params }],
  };
  await writeFile(`${dir}/${RECIPE_FILE}`, YAML.stringify(doc));
}

export async function writeReport(dir: string, report: object): Promise<void> {
  await writeFile(`${dir}/${REPORT_FILE}`, JSON.stringify(report, null, 2) + "\n");
}
