// Perplexity of a (possibly embedding-compressed) checkpoint with memc's CPU forward, for the embed report:
// the papers' protocol from src/eval/perplexity.ts, weights read through embeddingWeightSource.

import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { openCheckpoint } from "../../model/checkpoint.js";
import { loadTokenizer } from "../../model/tokenizer.js";
import { CpuOps } from "../../runtime/cpu/ops.js";
import type { Emit } from "../../util/events.js";
import { fingerprintString, perplexity, sha256Prefix } from "../../eval/perplexity.js";
import { checkSeqlen } from "../../eval/windows.js";
import { embeddingWeightSource } from "./reconstruct.js";

export interface PplRow {
  file: string;
  ppl: number;
  windows: number;
  seqlen: number;
  fingerprint: string;
}

export async function checkpointPerplexity(dir: string, files: string[], seqlen: number | undefined, maxWindows: number | undefined, emit: Emit, label: string): Promise<PplRow[]> {
  const ckpt = await openCheckpoint(dir);
  const tok = await loadTokenizer(dir);
  const ops = new CpuOps();
  const L = seqlen ?? Math.min(2048, ckpt.spec.maxPositions);
  const rows: PplRow[] = [];
  try {
    const src = embeddingWeightSource(ckpt);
    for (const file of files) {
      const text = await readFile(file, "utf8");
      const tokens = tok.encode(text);
      checkSeqlen(L, ckpt.spec.maxPositions, tokens.length, file);
      const r = await perplexity(ops, ckpt.spec, src, tokens, { seqlen: L, maxWindows, task: `ppl ${label} ${basename(file)}` }, emit);
      const fp = fingerprintString({
        text: basename(file), textSha256: sha256Prefix(text), tokens: tokens.length, seqlen: L, windows: r.windows,
        bos: false, dtype: "fp32", device: "cpu", runtime: "memc",
      });
      rows.push({ file: basename(file), ppl: r.ppl, windows: r.windows, seqlen: L, fingerprint: fp });
    }
  } finally {
    await ops.dispose();
    await ckpt.weights.close();
  }
  return rows;
}
