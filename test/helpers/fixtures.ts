// Paths to the shared fixtures (../shared beside the checkout) and the project's bundled tiny models.

import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../../..");
export const SHARED = process.env.MEMC_SHARED ?? resolve(ROOT, "../shared");
export const SHARED_FIXTURES = join(SHARED, "fixtures");
export const hasShared = existsSync(join(SHARED_FIXTURES, "reference.json"));

export function modelDir(name: string): string {
  const local = join(ROOT, "fixtures", name);
  return existsSync(join(local, "config.json")) ? local : join(SHARED_FIXTURES, "models", name);
}

export function evalText(name: string): string {
  return join(SHARED_FIXTURES, "text", "eval", name);
}

export function reference(): Record<string, Record<string, number | Record<string, number>>> {
  return JSON.parse(readFileSync(join(SHARED_FIXTURES, "reference.json"), "utf8"));
}
