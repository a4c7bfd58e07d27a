// `memc eval MODEL --ppl FILE…`: perplexity with its protocol fingerprint (table, or one JSON object with --json).

import type { Command } from "commander";
import { evaluateModel, type EvalResult } from "../eval/evaluate.js";
import { ortEvaluate, type OrtTextEvalResult } from "../export/onnx/ort-evaluate.js";
import { InputError } from "../util/errors.js";
import { renderer } from "../ui/progress.js";
import { parseIntOption } from "./options.js";

export function register(program: Command): void {
  program
    .command("eval")
    .description("Perplexity of a checkpoint on text files (papers' protocol: non-overlapping windows, no BOS, tokens 1..L-1 scored)")
    .argument("<model>", "HF checkpoint directory (or a memc output directory)")
    .requiredOption("--ppl <file...>", "text file(s) to score")
    .option("--seqlen <n>", "window length (default min(2048, max_position_embeddings); the fixtures use 512)", parseIntOption)
    .option("--device <name>", "memc runtime: cpu | cuda | auto (cuda when usable, else cpu) | null (records launches, computes nothing); ort runtime: cpu | webgpu", "cpu")
    .option("--runtime <name>", "memc (memc's own forward) | ort (the exported model.onnx in onnxruntime-node, so what ships is what is measured)", "memc")
    .option("--max-windows <n>", "score only the first N windows (quick checks; the result is then not the full-text ppl)", parseIntOption)
    .option("--gemm <mode>", "cuda GEMM mode: fp32 (exact, matches the cpu oracle) | tf32 | bf16 (bf16 operands, fp32 accumulate; bf16 flash attention; 0.91–1.60x the tok/s of torch bf16 sdpa on an H100, bench/eval-gpu.md)", "fp32")
    .option("--json", "print one JSON object on stdout")
    .action(async (model: string, o: { ppl: string[]; seqlen?: number; device: string; runtime: string; maxWindows?: number; gemm: string; json?: boolean }) => {
      const ui = renderer({ quiet: false });
      let results: (EvalResult | OrtTextEvalResult)[];
      if (o.runtime === "ort") {
        if (o.device !== "cpu" && o.device !== "webgpu") throw new InputError(`--device ${o.device}: the ort runtime runs on cpu or webgpu`);
        results = await ortEvaluate(model, o.ppl, {
          seqlen: o.seqlen,
          maxWindows: o.maxWindows,
          device: o.device,
          onWindow: (done, total) => ui({ kind: "progress", task: "eval (onnxruntime)", done, total, unit: "windows" }),
        });
      } else if (o.runtime === "memc") {
        if (!["fp32", "tf32", "bf16"].includes(o.gemm)) throw new InputError(`--gemm ${o.gemm}: expected fp32, tf32 or bf16`);
        results = await evaluateModel(model, o.ppl, { seqlen: o.seqlen, device: o.device, maxWindows: o.maxWindows, gemm: o.gemm as "fp32" | "tf32" | "bf16" }, ui);
      } else {
        throw new InputError(`--runtime ${o.runtime}: expected memc or ort`);
      }
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

function toJson(r: EvalResult | OrtTextEvalResult) {
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
