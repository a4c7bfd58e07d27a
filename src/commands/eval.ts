// `memc eval MODEL --ppl FILE…`: perplexity with its protocol fingerprint (table, or one JSON object with --json).

import type { Command } from "commander";
import { evaluateModel, type EvalResult } from "../eval/evaluate.js";
import { renderer } from "../ui/progress.js";
import { parseIntOption } from "./options.js";

export function register(program: Command): void {
  program
    .command("eval")
    .description("Perplexity of a checkpoint on text files (papers' protocol: non-overlapping windows, no BOS, tokens 1..L-1 scored)")
    .argument("<model>", "HF checkpoint directory (or a memc output directory)")
    .requiredOption("--ppl <file...>", "text file(s) to score")
    .option("--seqlen <n>", "window length (default min(2048, max_position_embeddings); the fixtures use 512)", parseIntOption)
    .option("--device <name>", "cpu | cuda | auto (cuda when usable, else cpu) | null (records launches, computes nothing)", "cpu")
    .option("--max-windows <n>", "score only the first N windows (quick checks; the result is then not the full-text ppl)", parseIntOption)
    .option("--json", "print one JSON object on stdout")
    .action(async (model: string, o: { ppl: string[]; seqlen?: number; device: string; maxWindows?: number; json?: boolean }) => {
      const ui = renderer({ quiet: false });
      const results = await evaluateModel(model, o.ppl, { seqlen: o.seqlen, device: o.device, maxWindows: o.maxWindows }, ui);
      ui.stop();
      if (o.json) {
        const rows = results.map(toJson);
        process.stdout.write(JSON.stringify(rows.length === 1 ? rows[0] : { model, results: rows }, null, 2) + "\n");
        return;
      }
      for (const r of results) {
        process.stdout.write(`${r.file}: ppl ${r.ppl.toFixed(4)}  (${r.tokensPerSecond.toFixed(0)} tok/s, ${r.seconds.toFixed(1)} s)\n  ${r.fingerprint}\n`);
      }
    });
}

function toJson(r: EvalResult) {
  return {
    file: r.file,
    ppl: r.ppl,
    meanNll: r.meanNll,
    tokens: r.tokens,
    windows: r.windows,
    seqlen: r.seqlen,
    scored: r.scored,
    device: r.device,
    runtime: r.runtime,
    dtype: r.fingerprintFields.dtype,
    seconds: r.seconds,
    tokensPerSecond: r.tokensPerSecond,
    fingerprint: r.fingerprintFields,
  };
}
