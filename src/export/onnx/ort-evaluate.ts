// `memc eval ARTIFACT --runtime ort` as a library call: the same protocol and fingerprint as memc's own
// evaluateModel (tokenize whole text, non-overlapping windows, tokens 1..L−1), run on model.onnx in onnxruntime.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { parseConfig } from "../../model/config.js";
import { loadTokenizer } from "../../model/tokenizer.js";
import { fingerprintString, sha256Prefix, type Fingerprint, type PplResult } from "../../eval/perplexity.js";
import { universalNewlines } from "../../eval/text.js";
import { checkSeqlen, windowCount } from "../../eval/windows.js";
import { InputError } from "../../util/errors.js";
import { ONNX_FILE } from "./export.js";
import { ortPerplexity } from "./ort-eval.js";
import type { OrtDevice } from "./ort-session.js";

export interface OrtTextEvalOptions {
  seqlen?: number;
  maxWindows?: number;
  device?: OrtDevice;
  threads?: number;
  onWindow?: (done: number, total: number) => void;
}

/** The same numbers memc's own evaluator reports (PplResult), measured in onnxruntime. */
export interface OrtTextEvalResult extends PplResult {
  file: string;
  device: OrtDevice;
  runtime: "ort";
  fingerprint: string;
  fingerprintFields: Fingerprint;
}

/** artifactDir: a `memc export --format onnx` directory (model.onnx + config.json + tokenizer.json). */
export async function ortEvaluate(artifactDir: string, files: string[], o: OrtTextEvalOptions = {}): Promise<OrtTextEvalResult[]> {
  const modelPath = join(artifactDir, ONNX_FILE);
  if (!existsSync(modelPath)) throw new InputError(`${artifactDir}: no ${ONNX_FILE} (export it with memc export --format onnx)`);
  const spec = parseConfig(JSON.parse(await readFile(join(artifactDir, "config.json"), "utf8")), join(artifactDir, "config.json"));
  const tok = await loadTokenizer(artifactDir);
  const seqlen = o.seqlen ?? Math.min(2048, spec.maxPositions);
  const device = o.device ?? "cpu";
  const out: OrtTextEvalResult[] = [];
  for (const file of files) {
    if (!existsSync(file)) throw new InputError(`--ppl ${file}: no such file`);
    const raw = await readFile(file);
    const tokens = tok.encode(universalNewlines(raw.toString("utf8")));
    checkSeqlen(seqlen, spec.maxPositions, tokens.length, file);
    const n = Math.min(windowCount(tokens.length, seqlen), o.maxWindows ?? Infinity);
    const windows = Array.from({ length: n }, (_, w) => tokens.subarray(w * seqlen, (w + 1) * seqlen));
    const r = await ortPerplexity(modelPath, windows, { device, ...(o.threads ? { threads: o.threads } : {}), ...(o.onWindow ? { onWindow: o.onWindow } : {}) });
    const scored = r.windowTokens.reduce((a, b) => a + b, 0);
    const meanNll = r.windowNll.reduce((a, b) => a + b, 0) / scored;
    const fp: Fingerprint = { text: basename(file), textSha256: sha256Prefix(raw), tokens: tokens.length, seqlen, windows: n, bos: false, dtype: "fp32", device, runtime: "ort" };
    out.push({ file, ppl: r.ppl, meanNll, tokens: tokens.length, windows: n, seqlen, scored, seconds: r.seconds, tokensPerSecond: r.tokensPerSecond, device, runtime: "ort", fingerprint: fingerprintString(fp), fingerprintFields: fp });
  }
  return out;
}
