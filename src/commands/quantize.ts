// `memc quantize MODEL -o OUT --method rtn …`: builds the recipe from flags and runs it (src/pipeline/run.ts).

import type { Command } from "commander";
import { validateRecipe } from "../recipe/io.js";
import { runRecipe } from "../pipeline/run.js";
import { renderer } from "../ui/progress.js";
import { parseIntOption } from "./options.js";

interface QuantizeFlags {
  output: string;
  method: string;
  wbits: number;
  groupSize: number;
  sym?: boolean;
  overwrite?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("quantize")
    .description("Quantize the Linear layers inside the decoder blocks; writes an HF checkpoint of dequantized (fake-quant) weights + memc.recipe.yaml + memc.report.json")
    .argument("<model>", "HF checkpoint directory")
    .requiredOption("-o, --output <dir>", "output directory (written atomically)")
    .option("--method <name>", "rtn (round-to-nearest baseline)", "rtn")
    .option("--wbits <bits>", "weight bits, 2..8 (llama-s english: fp 38.79 → W4 g128 39.49, W3 g128 41.59, W2 g64 63.27)", parseIntOption, 4)
    .option("--group-size <n>", "columns per quantization group; -1 = whole row. Must divide every layer's input width", parseIntOption, 128)
    .option("--sym", "symmetric quantization (default asymmetric with zero points)")
    .option("--overwrite", "replace OUT if it exists")
    .option("--json", "print the report as JSON on stdout")
    .action(async (model: string, o: QuantizeFlags) => {
      const recipe = validateRecipe(
        { memc: 1, model, passes: [{ method: o.method, params: { wbits: o.wbits, group_size: o.groupSize, sym: o.sym ?? false } }], output: { dir: o.output } },
        "command line",
      );
      const ui = renderer();
      const report = await runRecipe(recipe, ui, { overwrite: o.overwrite, command: process.argv.slice(2).join(" ") });
      ui.stop();
      if (o.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + "\n");
        return;
      }
      const p = report.passes[0]!;
      const mb = (b: number) => (b / 1e6).toFixed(2);
      process.stdout.write(
        `${p.method}: ${JSON.stringify(p.details)} in ${p.seconds.toFixed(1)} s\n` +
          `wrote ${report.output.dir} (${mb(report.output.bytes)} MB; input ${mb(report.input.bytes)} MB of weights)\n`,
      );
    });
}
