// Recipe load/save (YAML) and validation: schema first, then each pass's params — before any tensor is read.

import { readFile, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import YAML from "yaml";
import { getPass } from "../passes/registry.js";
import { InputError } from "../util/errors.js";
import { recipeSchema, type Recipe } from "./schema.js";

export const RECIPE_FILE = "memc.recipe.yaml";

export function validateRecipe(raw: unknown, where: string): Recipe {
  const r = recipeSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new InputError(`${where}: invalid recipe: ${issues}`);
  }
  r.data.passes.forEach((step, i) => {
    const p = getPass(step.method).params.safeParse(step.params);
    if (!p.success) {
      const issues = p.error.issues.map((x) => `${x.path.join(".") || "params"}: ${x.message}`).join("; ");
      throw new InputError(`${where}: passes.${i} (${step.method}): ${issues}`);
    }
    step.params = p.data as Record<string, unknown>;
  });
  return r.data;
}

export function recipeToYaml(r: Recipe): string {
  return YAML.stringify(r);
}

export async function loadRecipe(path: string): Promise<Recipe> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new InputError(`${path}: cannot read recipe`);
  }
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not valid YAML (${(e as Error).message})`);
  }
  return validateRecipe(raw, path);
}

export async function saveRecipe(path: string, r: Recipe): Promise<void> {
  await writeFile(path, recipeToYaml(r));
}

/** A short stable hash of the resolved recipe (recorded in reports). */
export function recipeFingerprint(r: Recipe): string {
  return createHash("sha256").update(JSON.stringify(r)).digest("hex").slice(0, 12);
}
