// Perplexity before/after for the embed report: `memc eval`'s library call (src/eval/evaluate.ts), which reads
// compressed tables through embeddingWeightSource, so the report measures what `memc eval` would.

import { basename } from "node:path";
import { evaluateModel } from "../../eval/evaluate.js";
import type { Emit } from "../../util/events.js";

export interface PplRow {
  file: string;
  ppl: number;
  windows: number;
  seqlen: number;
  device: string;
  fingerprint: string;
}

export async function checkpointPerplexity(dir: string, files: string[], seqlen: number | undefined, maxWindows: number | undefined, device: string, emit: Emit): Promise<PplRow[]> {
  const rs = await evaluateModel(dir, files, { seqlen, maxWindows, device }, emit);
  return rs.map((r) => ({ file: basename(r.file), ppl: r.ppl, windows: r.windows, seqlen: r.seqlen, device: r.device, fingerprint: r.fingerprint }));
}
