// Eval gates of a recipe: perplexity of the input and of the artifact on each text; fail when the increase
// exceeds `max_ppl_increase`. Results are added to memc.report.json (atomically: temp file + rename).

import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { evaluateModel } from "../eval/evaluate.js";
import type { Recipe } from "../recipe/schema.js";
import { MemcError } from "../util/errors.js";
import type { Emit } from "../util/events.js";
import { REPORT_FILE } from "./report.js";

export interface GateRow {
  file: string;
  before: number;
  after: number;
  increase: number;
  fingerprint: string;
  passed: boolean;
}

export async function runGates(recipe: Recipe, emit: Emit): Promise<GateRow[]> {
  const ev = recipe.eval;
  if (!ev) return [];
  const opts = { seqlen: ev.seqlen, device: ev.device };
  const before = await evaluateModel(recipe.model, ev.ppl, opts, emit);
  const after = await evaluateModel(recipe.output.dir, ev.ppl, opts, emit);
  const rows = before.map((b, i) => {
    const a = after[i]!;
    const increase = (a.ppl - b.ppl) / b.ppl;
    return { file: b.file, before: b.ppl, after: a.ppl, increase, fingerprint: a.fingerprint, passed: ev.max_ppl_increase === undefined || increase <= ev.max_ppl_increase };
  });
  const reportPath = join(recipe.output.dir, REPORT_FILE);
  const report = JSON.parse(await readFile(reportPath, "utf8"));
  report.eval = { maxPplIncrease: ev.max_ppl_increase ?? null, rows };
  await writeFile(`${reportPath}.tmp`, JSON.stringify(report, null, 2) + "\n");
  await rename(`${reportPath}.tmp`, reportPath);
  return rows;
}

export function checkGates(rows: GateRow[]): void {
  const failed = rows.filter((r) => !r.passed);
  if (failed.length > 0) {
    throw new MemcError(`eval gate failed: ${failed.map((r) => `${r.file} ppl ${r.before.toFixed(3)} → ${r.after.toFixed(3)} (+${(100 * r.increase).toFixed(2)}%)`).join("; ")}`);
  }
}
