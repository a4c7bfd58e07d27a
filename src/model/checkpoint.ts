// An HF checkpoint directory: config.json → ModelSpec, lazily opened weights, tokenizer on demand.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../util/errors.js";
import { parseConfig, type ModelSpec } from "./config.js";
import { WeightStore } from "./weights.js";

export interface Checkpoint {
  dir: string;
  rawConfig: Record<string, unknown>;
  spec: ModelSpec;
  weights: WeightStore;
}

export async function openCheckpoint(dir: string): Promise<Checkpoint> {
  if (!existsSync(dir)) throw new InputError(`${dir}: no such directory`);
  const cfgPath = join(dir, "config.json");
  if (!existsSync(cfgPath)) throw new InputError(`${dir}: missing config.json (not an HF checkpoint directory?)`);
  let rawConfig: Record<string, unknown>;
  try {
    rawConfig = JSON.parse(await readFile(cfgPath, "utf8"));
  } catch (e) {
    throw new InputError(`${cfgPath}: not valid JSON (${(e as Error).message})`);
  }
  const spec = parseConfig(rawConfig, cfgPath);
  const weights = await WeightStore.open(dir);
  return { dir, rawConfig, spec, weights };
}
