// Measures an artifact in the runtime that loads it, next to memc's own runtime on the source checkpoint, with
// the same protocol and windows: ONNX in onnxruntime, GPTQ/compressed-tensors through the packed reader (the
// dequantization vLLM/transformers apply) in memc's forward, GGUF in llama.cpp (node-llama-cpp, when installed).

import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { evaluateModel } from "../eval/evaluate.js";
import { fingerprintString, perplexity, sha256Prefix } from "../eval/perplexity.js";
import { universalNewlines } from "../eval/text.js";
import { checkSeqlen, windowCount } from "../eval/windows.js";
import { parseConfig } from "../model/config.js";
import { loadTokenizer } from "../model/tokenizer.js";
import { openOps } from "../runtime/backend.js";
import { silent } from "../util/events.js";
import { GGUF_FILE } from "./gguf/export.js";
import { llamaCppLogits, loadNodeLlamaCpp } from "./gguf/llama-cpp.js";
import { PackedWeights } from "./hf/read.js";
import { windowNll } from "./onnx/ort-eval.js";
import { ortEvaluate } from "./onnx/ort-evaluate.js";

export interface PplPair {
  file: string;
  memc: { ppl: number; fingerprint: string; tokensPerSecond: number };
  target: { runtime: string; ppl: number; fingerprint: string; tokensPerSecond: number } | { runtime: string; skipped: string };
  /** |target/memc − 1| */
  relDiff?: number;
}

export interface VerifyOptions {
  seqlen?: number;
  maxWindows?: number;
}

/** srcDir: the checkpoint memc measured; artDir: the artifact (possibly still the temp dir). */
export async function verifyArtifact(srcDir: string, artDir: string, format: string, files: string[], o: VerifyOptions): Promise<PplPair[]> {
  const packedSrc = "quantization_config" in JSON.parse(await readFile(join(srcDir, "config.json"), "utf8"));
  const base = packedSrc ? [] : await evaluateModel(srcDir, files, { device: "cpu", ...(o.seqlen ? { seqlen: o.seqlen } : {}), ...(o.maxWindows ? { maxWindows: o.maxWindows } : {}) }, silent);
  const out: PplPair[] = [];
  for (let i = 0; i < files.length; i++) {
    let m: { ppl: number; fingerprint: string; tokensPerSecond: number; seqlen: number; windows: number };
    if (packedSrc) {
      // memc's eval does not read packed checkpoints yet: measure the source through the packed reader
      const spec = parseConfig(JSON.parse(await readFile(join(srcDir, "config.json"), "utf8")), srcDir);
      const seqlen = o.seqlen ?? Math.min(2048, spec.maxPositions);
      const t = await packedPpl(srcDir, files[i]!, seqlen, o.maxWindows ?? Infinity);
      const { n } = await windowsOf(srcDir, files[i]!, seqlen, o.maxWindows ?? Infinity);
      m = { ...t, seqlen, windows: n };
    } else m = base[i]!;
    const memc = { ppl: m.ppl, fingerprint: m.fingerprint, tokensPerSecond: m.tokensPerSecond };
    let target: PplPair["target"];
    if (format === "onnx") {
      const [r] = await ortEvaluate(artDir, [files[i]!], { seqlen: m.seqlen, maxWindows: m.windows });
      target = { runtime: "onnxruntime-node cpu", ppl: r!.ppl, fingerprint: r!.fingerprint, tokensPerSecond: r!.tokensPerSecond };
    } else if (format === "gguf") {
      target = await ggufPpl(artDir, files[i]!, m.seqlen, m.windows);
    } else {
      target = await packedPpl(artDir, files[i]!, m.seqlen, m.windows);
    }
    out.push({ file: files[i]!, memc, target, ...("ppl" in target ? { relDiff: Math.abs(target.ppl / memc.ppl - 1) } : {}) });
  }
  return out;
}

async function windowsOf(dir: string, file: string, seqlen: number, maxWindows: number) {
  const spec = parseConfig(JSON.parse(await readFile(join(dir, "config.json"), "utf8")), join(dir, "config.json"));
  const raw = await readFile(file);
  const tokens = (await loadTokenizer(dir)).encode(universalNewlines(raw.toString("utf8")));
  checkSeqlen(seqlen, spec.maxPositions, tokens.length, file);
  const n = Math.min(windowCount(tokens.length, seqlen), maxWindows);
  const fp = (runtime: string) => fingerprintString({ text: basename(file), textSha256: sha256Prefix(raw), tokens: tokens.length, seqlen, windows: n, bos: false, dtype: "fp32", device: "cpu", runtime });
  return { spec, tokens, n, fp };
}

async function packedPpl(dir: string, file: string, seqlen: number, maxWindows: number): Promise<{ runtime: string; ppl: number; fingerprint: string; tokensPerSecond: number }> {
  const { spec, tokens, n, fp } = await windowsOf(dir, file, seqlen, maxWindows);
  const w = await PackedWeights.open(dir);
  const ops = await openOps("cpu", silent);
  try {
    const r = await perplexity(ops, spec, w, tokens, { seqlen, maxWindows: n }, silent);
    return { runtime: `memc cpu (${w.kind.kind} packed reader)`, ppl: r.ppl, fingerprint: fp("memc-packed"), tokensPerSecond: r.tokensPerSecond };
  } finally {
    await ops.dispose();
    await w.close();
  }
}

async function ggufPpl(dir: string, file: string, seqlen: number, maxWindows: number): Promise<PplPair["target"]> {
  const nlc = await loadNodeLlamaCpp();
  if (!nlc.mod) return { runtime: "llama.cpp", skipped: nlc.why! };
  const srcCfgDir = dir; // the GGUF dir has no config.json: the tokenizer/config come from the artifact's source copy
  const { spec, tokens, n, fp } = await windowsOf(srcCfgDir, file, seqlen, maxWindows);
  const windows = Array.from({ length: n }, (_, w) => tokens.subarray(w * seqlen, (w + 1) * seqlen));
  const r = await llamaCppLogits(join(dir, GGUF_FILE), windows, spec.vocab);
  let nll = 0;
  r.logits.forEach((l, i) => (nll += windowNll(l, windows[i]!, seqlen, spec.vocab)));
  return { runtime: "llama.cpp cpu (node-llama-cpp prebuilt)", ppl: Math.exp(nll / (n * (seqlen - 1))), fingerprint: fp("llama.cpp"), tokensPerSecond: (n * seqlen) / r.seconds };
}
