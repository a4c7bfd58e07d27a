// `memc eval` as a library call: open a checkpoint, tokenize each text, run the perplexity protocol, fingerprint it.

import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { openCheckpoint } from "../model/checkpoint.js";
import { loadTokenizer } from "../model/tokenizer.js";
import { openOps } from "../runtime/backend.js";
import { InputError } from "../util/errors.js";
import type { Emit } from "../util/events.js";
import { fingerprintString, perplexity, sha256Prefix, type Fingerprint, type PplResult } from "./perplexity.js";
import { checkSeqlen } from "./windows.js";
import { universalNewlines } from "./text.js";
import { openWeightSource } from "./weight-source.js";

export interface EvalOptions {
  seqlen?: number;
  device: string;
  maxWindows?: number;
  /** CUDA GEMM mode (fp32 exact by default; tf32; bf16 as a bf16 runtime computes) */
  gemm?: "fp32" | "tf32" | "bf16";
}

export interface EvalResult extends PplResult {
  file: string;
  device: string;
  runtime: "memc";
  fingerprint: string;
  fingerprintFields: Fingerprint;
}

export async function evaluateModel(modelDir: string, files: string[], opts: EvalOptions, emit: Emit): Promise<EvalResult[]> {
  for (const f of files) if (!existsSync(f)) throw new InputError(`--ppl ${f}: no such file`);
  const ckpt = await openCheckpoint(modelDir);
  const tok = await loadTokenizer(modelDir);
  const src = await openWeightSource(ckpt);
  const ops = await openOps(opts.device, emit, opts.gemm);
  const seqlen = opts.seqlen ?? Math.min(2048, ckpt.spec.maxPositions);
  const results: EvalResult[] = [];
  try {
    for (const file of files) {
      const raw = await readFile(file);
      const text = universalNewlines(raw.toString("utf8"));
      const tokens = tok.encode(text);
      checkSeqlen(seqlen, ckpt.spec.maxPositions, tokens.length, file);
      // A GPU holds tens of GiB: keep the layers resident there; on the CPU stay within ~1 GiB of fp32 weights.
      const residentBytes = ops.device === "cpu" ? 2 ** 30 : 16 * 2 ** 30;
      const r = await perplexity(ops, ckpt.spec, src, tokens, { seqlen, maxWindows: opts.maxWindows, task: `eval ${basename(file)}`, residentBytes }, emit);
      const fp: Fingerprint = {
        text: basename(file),
        textSha256: sha256Prefix(raw),
        tokens: tokens.length,
        seqlen,
        windows: r.windows,
        bos: false,
        dtype: ops.device === "cuda" && opts.gemm && opts.gemm !== "fp32" ? `fp32 (${opts.gemm} GEMMs)` : "fp32",
        device: ops.device,
        runtime: "memc",
      };
      results.push({ ...r, file, device: ops.device, runtime: "memc", fingerprint: fingerprintString(fp), fingerprintFields: fp });
    }
  } finally {
    await ops.dispose();
    await ckpt.weights.close();
  }
  return results;
}
