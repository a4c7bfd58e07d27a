// `memc export` as a library call: HF checkpoint dir (dense, fake-quant or packed) → one deployable artifact dir
// (onnx | ct | gptq | gptq_v2 | gguf) written atomically, with memc.report.json and the source's memc.recipe.yaml.

import { existsSync } from "node:fs";
import { copyFile, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint } from "../model/checkpoint.js";
import { parseConfig } from "../model/config.js";
import type { Dtype } from "../model/safetensors/dtypes.js";
import { InputError, MemcError } from "../util/errors.js";
import { writeDirAtomically } from "./atomic.js";
import { parsePackedConfig, type PackScheme } from "./hf/config.js";
import type { QuantLinear } from "./hf/qlinear.js";
import { PackedWeights } from "./hf/read.js";
import { writePackedCheckpoint } from "./hf/write.js";
import { exportGguf, type GgufType } from "./gguf/export.js";
import { exportOnnx } from "./onnx/export.js";
import type { WeightDtype } from "./onnx/linear.js";
import { RECIPE_FILE, REPORT_FILE, schemeFromRecipe } from "./recipe-scheme.js";
import { verifyArtifact, type PplPair } from "./verify.js";

export type ExportFormat = "onnx" | "ct" | "ct-fp8" | "gptq" | "gptq_v2" | "gguf";
export const EXPORT_FORMATS: ExportFormat[] = ["onnx", "ct", "ct-fp8", "gptq", "gptq_v2", "gguf"];

export interface ExportOptions {
  format: ExportFormat;
  /** Scheme of the fake-quant weights; default: the packed config, then memc.recipe.yaml; none = dense. */
  quant?: PackScheme;
  /** Codes straight from a quantizer by module name (skips re-derivation). */
  codes?: Map<string, QuantLinear>;
  onnxDtype?: WeightDtype;
  /** ONNX: add the attention_mask input */
  attentionMask?: boolean;
  external?: boolean;
  ggufType?: GgufType;
  force?: boolean;
  /** Measure the artifact in its runtime next to memc on the source (same windows); recorded in the report. */
  ppl?: string[];
  seqlen?: number;
  maxWindows?: number;
  /** Fail (exit 1, nothing written) when onnx/ct/gptq ppl differs from memc's by more than this (default 0.005). */
  maxPplDiff?: number;
}

export interface ExportReport {
  command: "export";
  format: ExportFormat;
  source: string;
  output: string;
  scheme: PackScheme | null;
  sourceBytes: number;
  artifactBytes: number;
  seconds: number;
  details: unknown;
  ppl?: PplPair[];
}

async function dirBytes(dir: string, filter: (f: string) => boolean = () => true): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) if (filter(f)) n += (await stat(join(dir, f))).size;
  return n;
}

export async function exportArtifact(srcDir: string, outDir: string, o: ExportOptions): Promise<ExportReport> {
  const t0 = performance.now();
  const cfgPath = join(srcDir, "config.json");
  if (!existsSync(cfgPath)) throw new InputError(`${srcDir}: missing config.json (not an HF checkpoint directory?)`);
  const rawConfig = JSON.parse(await readFile(cfgPath, "utf8")) as Record<string, unknown>;
  const packed = parsePackedConfig(rawConfig, cfgPath);
  const quant = o.quant ?? packed?.scheme ?? (await schemeFromRecipe(srcDir));
  const isWeights = (f: string) => f.endsWith(".safetensors") && f !== "golden.safetensors";
  const sourceBytes = await dirBytes(srcDir, isWeights);
  const details = await writeDirAtomically(outDir, async (tmp) => {
    let d: unknown;
    if (o.format === "ct-fp8") {
      if (packed) throw new InputError(`${srcDir}: already a packed ${packed.kind} checkpoint; FP8 export starts from a dense checkpoint`);
      const ck = await openCheckpoint(srcDir);
      try {
        d = await writePackedCheckpoint(ck, tmp, { format: "ct-fp8", bits: 8, groupSize: -1, sym: true });
      } finally {
        await ck.weights.close();
      }
    } else if (o.format === "ct" || o.format === "gptq" || o.format === "gptq_v2") {
      if (packed) throw new InputError(`${srcDir}: already a packed ${packed.kind} checkpoint; export from the fake-quant directory instead`);
      if (!quant) throw new InputError(`--format ${o.format} needs the quantization scheme: pass --wbits/--group-size (and --sym) or export a directory with ${RECIPE_FILE}`);
      const ck = await openCheckpoint(srcDir);
      try {
        d = await writePackedCheckpoint(ck, tmp, { format: o.format, ...quant, ...(o.codes ? { codes: o.codes } : {}) });
      } finally {
        await ck.weights.close();
      }
    } else {
      const spec = parseConfig(rawConfig, cfgPath);
      const weights = packed ? await PackedWeights.open(srcDir) : (await openCheckpoint(srcDir)).weights;
      const storedDtype = (n: string): Dtype => (weights instanceof PackedWeights && weights.isPacked(n) ? "F32" : weights instanceof PackedWeights ? weights.store.info(n).dtype : weights.info(n).dtype);
      const src = { dir: srcDir, spec, rawConfig, weights, storedDtype };
      try {
        if (o.format === "onnx") {
          d = await exportOnnx(src, tmp, { ...(quant ? { quant } : {}), ...(o.codes ? { codes: o.codes } : {}), weightDtype: o.onnxDtype ?? "fp32", ...(o.attentionMask ? { attentionMask: true } : {}), ...(o.external !== undefined ? { external: o.external } : {}) });
        } else {
          d = await exportGguf(src, tmp, { type: o.ggufType ?? "f16", ...(quant ? { quant } : {}) });
        }
      } finally {
        await weights.close();
      }
    }
    let ppl: PplPair[] | undefined;
    if (o.ppl && o.ppl.length > 0) {
      ppl = await verifyArtifact(srcDir, tmp, o.format, o.ppl, { ...(o.seqlen ? { seqlen: o.seqlen } : {}), ...(o.maxWindows ? { maxWindows: o.maxWindows } : {}) });
      const gate = o.maxPplDiff ?? 0.005;
      const bad = o.format === "gguf" ? undefined : ppl.find((p) => p.relDiff !== undefined && p.relDiff > gate);
      if (bad) throw new MemcError(`${o.format} artifact: ppl on ${bad.file} differs from memc's by ${(bad.relDiff! * 100).toFixed(3)}% (gate ${(gate * 100).toFixed(2)}%); nothing written`);
    }
    if (existsSync(join(srcDir, RECIPE_FILE))) await copyFile(join(srcDir, RECIPE_FILE), join(tmp, RECIPE_FILE));
    const report: ExportReport = {
      command: "export", format: o.format, source: srcDir, output: outDir, scheme: o.format === "ct-fp8" ? { bits: 8, groupSize: -1, sym: true } : quant ?? null, sourceBytes,
      artifactBytes: await dirBytes(tmp, (f) => /\.(safetensors|onnx|data|gguf)$/.test(f)),
      seconds: (performance.now() - t0) / 1000, details: d, ...(ppl ? { ppl } : {}),
    };
    await writeFile(join(tmp, REPORT_FILE), JSON.stringify(report, null, 2) + "\n");
    return report;
  }, o.force === true);
  return details;
}
