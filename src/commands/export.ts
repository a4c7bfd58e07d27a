// `memc export DIR -o OUT --format onnx|ct|gptq|gptq_v2|gguf`: a checkpoint dir → a deployable artifact dir.

import { Command, Option } from "commander";
import { EXPORT_FORMATS, exportArtifact, type ExportFormat } from "../export/index.js";
import type { GgufType } from "../export/gguf/export.js";
import { InputError } from "../util/errors.js";

interface Opts {
  output: string;
  format: ExportFormat;
  wbits?: string;
  groupSize?: string;
  sym?: boolean;
  onnxDtype: "fp32" | "fp16";
  external?: boolean;
  attentionMask?: boolean;
  ggufType: GgufType;
  force?: boolean;
  json?: boolean;
  ppl?: string[];
  seqlen?: string;
  maxWindows?: string;
}

const int = (flag: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InputError(`${flag} ${v}: expected an integer`);
  return n;
};

export function register(program: Command): void {
  program
    .command("export")
    .description("write a deployable artifact: ONNX (onnxruntime), compressed-tensors / GPTQ safetensors (vLLM, transformers), GGUF (llama.cpp)")
    .argument("<dir>", "HF checkpoint directory (dense, memc fake-quant, or GPTQ/compressed-tensors packed)")
    .requiredOption("-o, --output <dir>", "artifact directory to create (written atomically)")
    .addOption(new Option("--format <format>", "artifact format").choices(EXPORT_FORMATS).makeOptionMandatory())
    .option("--wbits <n>", "weight bits of the fake-quant weights (default: from memc.recipe.yaml or the packed config)")
    .option("--group-size <n>", "group size of the fake-quant weights (-1 = per channel)")
    .option("--sym", "the fake-quant weights are symmetric")
    .addOption(new Option("--onnx-dtype <dtype>", "ONNX dense weight initializers (compute stays fp32)").choices(["fp32", "fp16"]).default("fp32"))
    .option("--attention-mask", "ONNX: add an attention_mask int64 [batch, seq] input (padding; positions from its cumsum)")
    .option("--external", "ONNX: always write weights to model.onnx.data (default: only above 2 GB)")
    .addOption(new Option("--gguf-type <type>", "GGUF weight type").choices(["f16", "q8_0", "q4_0", "q4_1"]).default("f16"))
    .option("--ppl <file...>", "measure the artifact in its runtime (onnxruntime / packed reader / llama.cpp) next to memc on the source; gate 0.5%")
    .option("--seqlen <n>", "--ppl window length (default min(2048, max_position_embeddings))")
    .option("--max-windows <n>", "--ppl: score only the first N windows")
    .option("--force", "replace the output directory if it exists")
    .option("--json", "print the report as JSON")
    .action(async (dir: string, o: Opts) => {
      const quant = o.wbits !== undefined ? { bits: int("--wbits", o.wbits), groupSize: o.groupSize !== undefined ? int("--group-size", o.groupSize) : -1, sym: o.sym === true } : undefined;
      if (!quant && (o.groupSize !== undefined || o.sym)) throw new InputError("--group-size/--sym need --wbits");
      const r = await exportArtifact(dir, o.output, {
        format: o.format, onnxDtype: o.onnxDtype, ggufType: o.ggufType, force: o.force === true,
        ...(quant ? { quant } : {}), ...(o.external ? { external: true } : {}), ...(o.attentionMask ? { attentionMask: true } : {}),
        ...(o.ppl ? { ppl: o.ppl } : {}), ...(o.seqlen ? { seqlen: int("--seqlen", o.seqlen) } : {}), ...(o.maxWindows ? { maxWindows: int("--max-windows", o.maxWindows) } : {}),
      });
      if (o.json) {
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      const mb = (b: number) => (b / 1e6).toFixed(2) + " MB";
      const scheme = r.scheme ? `w${r.scheme.bits} g${r.scheme.groupSize} ${r.scheme.sym ? "sym" : "asym"}` : "dense";
      console.log(`${r.output}: ${r.format} (${scheme}), ${mb(r.sourceBytes)} → ${mb(r.artifactBytes)} in ${r.seconds.toFixed(1)} s`);
      const d = r.details as { layers?: { packed: boolean; module: string; reason?: string }[]; dense?: { module: string; reason: string }[] };
      const kept = d.layers ? d.layers.filter((l) => !l.packed).map((l) => ({ module: l.module, reason: l.reason ?? "" })) : (d.dense ?? []);
      for (const k of kept) console.log(`  kept dense: ${k.module} (${k.reason})`);
      for (const p of r.ppl ?? []) {
        const t = "ppl" in p.target ? `${p.target.ppl.toFixed(4)} (${p.target.runtime}; Δ ${(p.relDiff! * 100).toFixed(3)}%)` : `not run: ${p.target.skipped}`;
        console.log(`  ppl ${p.file}: memc ${p.memc.ppl.toFixed(4)} · artifact ${t}\n    ${p.memc.fingerprint}`);
      }
      console.log(`  report: ${r.output}/memc.report.json`);
    });
}
