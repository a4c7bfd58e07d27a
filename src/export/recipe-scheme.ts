// Finds the quantization scheme (bits, group size, symmetric) of a fake-quant checkpoint: a packed config's
// quantization_config, or the `wbits` / `group_size` / `sym` keys of its memc.recipe.yaml (searched at any depth).

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import YAML from "yaml";
import { InputError } from "../util/errors.js";
import type { PackScheme } from "./hf/config.js";

export const RECIPE_FILE = "memc.recipe.yaml";
export const REPORT_FILE = "memc.report.json";

function find(o: unknown, keys: string[]): unknown {
  if (typeof o !== "object" || o === null) return undefined;
  for (const k of keys) if (k in (o as Record<string, unknown>)) return (o as Record<string, unknown>)[k];
  for (const v of Object.values(o as Record<string, unknown>)) {
    const r = find(v, keys);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** The recipe's scheme, or undefined when there is no recipe or it names no weight bits. */
export async function schemeFromRecipe(dir: string): Promise<PackScheme | undefined> {
  const p = join(dir, RECIPE_FILE);
  if (!existsSync(p)) return undefined;
  let doc: unknown;
  try {
    doc = YAML.parse(await readFile(p, "utf8"));
  } catch (e) {
    throw new InputError(`${p}: not valid YAML (${(e as Error).message})`);
  }
  const bits = find(doc, ["wbits", "w_bits", "bits"]);
  if (typeof bits !== "number") return undefined;
  const gs = find(doc, ["group_size", "groupSize", "group-size"]);
  const sym = find(doc, ["sym", "symmetric"]);
  return { bits, groupSize: typeof gs === "number" ? gs : -1, sym: sym === true };
}
