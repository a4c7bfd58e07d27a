// `memc quantize MODEL -o OUT --method rtn …`: builds the recipe from flags and runs it (src/pipeline/run.ts).

import type { Command } from "commander";
import { validateRecipe } from "../recipe/io.js";
import { runRecipe } from "../pipeline/run.js";
import { renderer } from "../ui/progress.js";
import { parseIntOption } from "./options.js";
import { InputError } from "../util/errors.js";

interface QuantizeFlags {
  output: string;
  method: string;
  wbits: number;
  groupSize: number;
  sym?: boolean;
  exclude?: string;
  // omniquant (src/passes/omniquant)
  calib?: string;
  nsamples: number;
  seqlen: number;
  epochs: number;
  device: string;
  gemm: string;
  abits?: number;
  let?: boolean;
  augLoss?: boolean;
  letLr?: number;
  alpha?: number;
  format: string;
  overwrite?: boolean;
  json?: boolean;
}

function passParams(o: QuantizeFlags): Record<string, unknown> {
  const base = { wbits: o.wbits, group_size: o.groupSize, sym: o.sym ?? false, ...(o.abits !== undefined ? { abits: o.abits } : {}) };
  if (o.let && o.method !== "omniquant") throw new InputError("--let is an omniquant option");
  if (o.abits !== undefined && o.format !== "fake-quant") throw new InputError(`--abits: the ${o.format} format has no place for activation quantization; use --format fake-quant`);
  if (o.method === "rtn") return o.exclude ? { ...base, exclude: o.exclude.split(",").filter(Boolean) } : base;
  if (o.method !== "omniquant") return base;
  if (!o.calib) throw new InputError("--method omniquant needs --calib FILE (calibration text)");
  if ((o.letLr !== undefined || o.alpha !== undefined) && !o.let) throw new InputError("--let-lr/--alpha set the LET parameters: add --let");
  const letParams = o.let ? { let: true, ...(o.letLr !== undefined ? { let_lr: o.letLr } : {}), ...(o.alpha !== undefined ? { alpha: o.alpha } : {}) } : {};
  return { ...base, ...letParams, ...(o.augLoss ? { aug_loss: true } : {}), calib: o.calib, nsamples: o.nsamples, seqlen: o.seqlen, epochs: o.epochs, device: o.device, gemm: o.gemm, state_dir: `${o.output.replace(/\/+$/, "")}.omniquant-state` };
}

export function register(program: Command): void {
  program
    .command("quantize")
    .description("Quantize the Linear layers inside the decoder blocks; writes an HF checkpoint of dequantized (fake-quant) weights + memc.recipe.yaml + memc.report.json")
    .argument("<model>", "HF checkpoint directory")
    .requiredOption("-o, --output <dir>", "output directory (written atomically)")
    .option("--method <name>", "rtn (round-to-nearest baseline) | omniquant (LWC/LET block-wise reconstruction; needs --calib; llama-s W3 g128 english: RTN 41.59 → 40.48, 33 s with --device cuda on an H100)", "rtn")
    .option("--wbits <bits>", "weight bits, 2..8 (llama-s english: fp 38.79 → W4 g128 39.49, W3 g128 41.59, W2 g64 63.27)", parseIntOption, 4)
    .option("--group-size <n>", "columns per quantization group; -1 = whole row. Must divide every layer's input width", parseIntOption, 128)
    .option("--sym", "symmetric quantization (default asymmetric with zero points)")
    .option("--exclude <parts>", "rtn: leave these layer parts unquantized, comma-separated: attention,mlp,experts")
    .option("--abits <bits>", "activation bits 4|6|8: per-token dynamic asymmetric fake-quant, recorded in config.json (memc_activation_quant) and applied by memc eval", parseIntOption)
    .option("--aug-loss", "omniquant: also fit the fp layer's output on the quantized inputs (the reference's --aug_loss, used with 40 epochs for 2-bit)")
    .option("--let", "omniquant: learnable equivalent transformation (channel scales, SmoothQuant init α 0.5, lr 5e-3), folded into weights and norms")
    .option("--let-lr <lr>", "omniquant --let: LET learning rate (default 5e-3; the reference's W4A4 script uses 1e-3)", parseFloat)
    .option("--alpha <a>", "omniquant --let: SmoothQuant migration strength of the LET init (default 0.5; the W4A4 script uses 0.75)", parseFloat)
    .option("--calib <file[,file…]>", "omniquant: calibration text file (e.g. ../shared/fixtures/text/calib/english.txt); several, comma-separated, mix them as the reference's `mix` loader (nsamples/k windows each)")
    .option("--nsamples <n>", "omniquant: calibration windows (seed 2 random windows, as the reference)", parseIntOption, 128)
    .option("--seqlen <n>", "omniquant: tokens per calibration window", parseIntOption, 512)
    .option("--epochs <n>", "omniquant: epochs over the calibration windows per layer (reference: 20; 40 for 2-bit)", parseIntOption, 20)
    .option("--device <name>", "omniquant: where the layer training runs: cpu | cuda | auto (cuda when usable, else cpu)", "cpu")
    .option("--gemm <mode>", "omniquant --device cuda: GEMM precision fp32 (matches the CPU path) | tf32 | bf16 (tensor cores)", "fp32")
    .option("--format <name>", "fake-quant (HF checkpoint of dequantized weights) | ct | gptq | gptq_v2 | onnx | gguf (packed by src/export; see memc export)", "fake-quant")
    .option("--overwrite", "replace OUT if it exists")
    .option("--json", "print the report as JSON on stdout")
    .action(async (model: string, o: QuantizeFlags) => {
      const recipe = validateRecipe(
        { memc: 1, model, passes: [{ method: o.method, params: passParams(o) }], output: { dir: o.output, format: o.format } },
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
