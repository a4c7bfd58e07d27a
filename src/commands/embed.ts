// `memc embed MODEL|VECTORS -o OUT --float8 e4m3|e5m2|none [--pca F] [--scale none|tensor|row]`: float8 / PCA
// compression of a checkpoint's embedding tables or of a vector store; `--encode TEXT…` makes vectors from a model.

import { existsSync, statSync } from "node:fs";
import type { Command } from "commander";
import { parseFloat8Format } from "../runtime/float8.js";
import { InputError } from "../util/errors.js";
import { renderer } from "../ui/progress.js";
import { SCALE_MODES, type ScaleMode } from "../passes/embed/quantize.js";
import { embedModel, type TableKind } from "../passes/embed/tables.js";
import { embedVectors } from "../passes/embed/vectors.js";
import { encodeParagraphs } from "../passes/embed/encode.js";
import { writeNpy } from "../passes/embed/npy.js";
import { parseFloatOption, parseIntOption } from "./options.js";
import { renderModelReport, renderVectorReport } from "./embed-render.js";

interface Opts {
  output: string; float8: string; pca?: number; scale: string; tables: string; ppl?: string[]; seqlen?: number; maxWindows?: number; device: string;
  tensor?: string; queries?: string; queryCount?: number; fit?: string; k: number; seed: number; encode?: string[]; limit?: number; maxTokens?: number; force?: boolean; json?: boolean;
}

export function register(program: Command): void {
  program
    .command("embed")
    .description("float8 (E4M3/E5M2) and PCA compression of a model's embedding tables or of a vector store, with retrieval/perplexity impact")
    .argument("<input>", "HF checkpoint directory, or vectors: .npy float [n, d] / .safetensors tensor")
    .requiredOption("-o, --output <path>", "output directory (written atomically); with --encode, the .npy file to write")
    .option("--float8 <format>", "e4m3 | e5m2 | none (none: PCA only, values kept in the source dtype)", "e4m3")
    .option("--pca <fraction>", "keep round(fraction·d) principal components (0 < fraction ≤ 1), applied before float8", parseFloatOption)
    .option("--scale <mode>", "none (the paper's plain cast) | tensor | row", "none")
    .option("--tables <list>", "model mode: comma-separated embed,lm_head", "embed")
    .option("--ppl <file...>", "model mode: text file(s) for perplexity before/after")
    .option("--seqlen <n>", "model mode: perplexity window (default min(2048, max_position_embeddings))", parseIntOption)
    .option("--max-windows <n>", "model mode: score only the first N windows per file", parseIntOption)
    .option("--device <name>", "model mode: device for the perplexity runs (cpu | cuda | auto)", "cpu")
    .option("--tensor <name>", "vectors mode: tensor to read from a .safetensors input")
    .option("--queries <file>", "vectors mode: query vectors (.npy/.safetensors); default a held-out sample of the store")
    .option("--query-count <n>", "vectors mode: size of the held-out query sample (default min(1000, n/10))", parseIntOption)
    .option("--fit <file>", "vectors mode: fit PCA on these vectors instead of the store")
    .option("--k <n>", "vectors mode: top-k for recall@k / nDCG@k", parseIntOption, 10)
    .option("--seed <n>", "vectors mode: seed for the query sample", parseIntOption, 0)
    .option("--encode <text...>", "with a MODEL: write mean-pooled final hidden states of the texts' paragraphs to -o as .npy")
    .option("--limit <n>", "with --encode: at most N paragraphs per text file", parseIntOption)
    .option("--max-tokens <n>", "with --encode: truncate paragraphs to N tokens (default 256)", parseIntOption)
    .option("--force", "replace an existing output")
    .option("--json", "print the report as JSON on stdout")
    .action(async (input: string, o: Opts) => {
      const ui = renderer();
      try {
        const isModel = existsSync(input) && statSync(input).isDirectory();
        if (o.encode) {
          if (!isModel) throw new InputError(`--encode needs a checkpoint directory, got ${input}`);
          const v = await encodeParagraphs(input, o.encode, { limit: o.limit, maxTokens: o.maxTokens }, ui);
          await writeNpy(o.output, v.x, v.rows, v.dim);
          ui.stop();
          process.stdout.write(`${o.output}: ${v.rows} × ${v.dim} mean-pooled hidden states (float32 .npy)\n`);
          return;
        }
        const params = checkParams(o);
        if (isModel) {
          const tables = o.tables.split(",").map((t) => t.trim());
          for (const t of tables) if (t !== "embed" && t !== "lm_head") throw new InputError(`--tables ${o.tables}: "${t}" is not embed or lm_head`);
          const r = await embedModel(input, o.output, { params, tables: [...new Set(tables)] as TableKind[], force: !!o.force, ppl: o.ppl ?? [], seqlen: o.seqlen, maxWindows: o.maxWindows, device: o.device }, ui);
          ui.stop();
          process.stdout.write(o.json ? JSON.stringify(r, null, 2) + "\n" : renderModelReport(o.output, r));
        } else {
          if (!existsSync(input)) throw new InputError(`${input}: no such file or directory`);
          const r = await embedVectors(input, o.output, { params, tensor: o.tensor, queries: o.queries, queryCount: o.queryCount, fit: o.fit, k: o.k, seed: o.seed, force: !!o.force }, ui);
          ui.stop();
          process.stdout.write(o.json ? JSON.stringify(r, null, 2) + "\n" : renderVectorReport(o.output, r));
        }
      } finally {
        ui.stop();
      }
    });
}

function checkParams(o: Opts): { float8: "e4m3" | "e5m2" | "none"; pca?: number; scale: ScaleMode } {
  const f8 = o.float8 === "none" ? "none" : parseFloat8Format(o.float8);
  if (!f8) throw new InputError(`--float8 ${o.float8}: expected e4m3, e5m2 or none`);
  if (!SCALE_MODES.includes(o.scale as ScaleMode)) throw new InputError(`--scale ${o.scale}: expected ${SCALE_MODES.join(", ")}`);
  if (o.pca !== undefined && !(o.pca > 0 && o.pca <= 1)) throw new InputError(`--pca ${o.pca}: expected a fraction in (0, 1]`);
  if (f8 === "none" && o.pca === undefined) throw new InputError("--float8 none without --pca: nothing to compress");
  if (f8 === "none" && o.scale !== "none") throw new InputError(`--scale ${o.scale} needs --float8 e4m3 or e5m2`);
  if (o.k < 1) throw new InputError(`--k ${o.k}: must be ≥ 1`);
  return { float8: f8, pca: o.pca, scale: o.scale as ScaleMode };
}
