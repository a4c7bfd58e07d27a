// memc.report.json: what was done, to what (input hashes), sizes before/after, timings, versions, perplexities.

import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import type { Checkpoint } from "../model/checkpoint.js";

export const REPORT_FILE = "memc.report.json";

export interface Report {
  memc: string;
  created: string;
  command: string;
  recipeFingerprint: string;
  input: { dir: string; configSha256: string; weightsHeaderSha256: string; bytes: number };
  output: { dir: string; bytes: number; files: string[] };
  passes: { method: string; reference: string; seconds: number; details: Record<string, unknown> }[];
  eval?: unknown;
  /** Packing step when the output format is not fake-quant (src/export's report). */
  export?: unknown;
  versions: { node: string; memc: string };
}

/** Hash of config.json and of every shard's header (names, dtypes, shapes, offsets) plus file sizes: cheap and
 *  changes whenever the checkpoint does in practice; hashing every weight byte of a 70B model would take minutes. */
export function inputFingerprint(ckpt: Checkpoint): Report["input"] {
  const cfg = readFileSync(join(ckpt.dir, "config.json"));
  const h = createHash("sha256");
  let bytes = 0;
  for (const n of ckpt.weights.names().sort()) {
    const i = ckpt.weights.info(n);
    h.update(`${n}:${i.dtype}:${i.shape.join("x")}:${i.end - i.begin};`);
    bytes += i.end - i.begin;
  }
  return { dir: ckpt.dir, configSha256: createHash("sha256").update(cfg).digest("hex").slice(0, 12), weightsHeaderSha256: h.digest("hex").slice(0, 12), bytes };
}

export function dirBytes(dir: string, files: string[]): number {
  return files.reduce((a, f) => a + statSync(join(dir, f)).size, 0);
}

export async function writeReport(dir: string, r: Report): Promise<void> {
  await writeFile(join(dir, REPORT_FILE), JSON.stringify(r, null, 2) + "\n");
}

export const MEMC_VERSION = "0.1.0";
