// Perplexity over non-overlapping windows, streamed: windows go through the model in chunks, each chunk
// layer by layer (one block's weights resident), with lm_head + NLL fused so full logits are never kept.

import { createHash } from "node:crypto";
import type { ModelSpec } from "../model/config.js";
import type { DeviceTensor, Ops } from "../runtime/ops.js";
import type { Emit } from "../util/events.js";
import { freeHead, hiddenStates, loadHead } from "../nn/forward.js";
import type { WeightSource } from "../nn/layer-weights.js";
import { shiftedTargets, windowCount } from "./windows.js";

export interface PplOptions {
  seqlen: number;
  /** Evaluate only the first N windows (quick checks); default all. */
  maxWindows?: number;
  /** Tokens per chunk pushed through the layers together (bounds activation memory). */
  chunkTokens?: number;
  task?: string;
}

export interface PplResult {
  ppl: number;
  meanNll: number;
  tokens: number;
  windows: number;
  seqlen: number;
  scored: number;
  seconds: number;
  tokensPerSecond: number;
}

export async function perplexity<T extends DeviceTensor>(
  ops: Ops<T>,
  spec: ModelSpec,
  src: WeightSource,
  tokens: Int32Array,
  opts: PplOptions,
  emit: Emit,
): Promise<PplResult> {
  const L = opts.seqlen;
  const total = Math.min(windowCount(tokens.length, L), opts.maxWindows ?? Infinity);
  const perChunk = Math.max(1, Math.floor((opts.chunkTokens ?? 8192) / L));
  const task = opts.task ?? "eval";
  const head = await loadHead(ops, src, spec);
  const t0 = performance.now();
  let sum = 0;
  let scored = 0;
  try {
    for (let w = 0; w < total; w += perChunk) {
      const n = Math.min(perChunk, total - w);
      const ids = tokens.subarray(w * L, (w + n) * L);
      const h = await hiddenStates(ops, spec, src, head, ids, L);
      const nll = await ops.nll(h, head.lmHead, shiftedTargets(ids, L));
      ops.free(h);
      for (let r = 0; r < nll.length; r++) {
        if ((r + 1) % L === 0) continue;
        sum += nll[r]!;
        scored++;
      }
      emit({ kind: "progress", task, done: w + n, total, unit: "windows", detail: `ppl ${Math.exp(sum / scored).toFixed(3)}` });
    }
  } finally {
    freeHead(ops, head);
  }
  const seconds = (performance.now() - t0) / 1000;
  const meanNll = sum / scored;
  return { ppl: Math.exp(meanNll), meanNll, tokens: tokens.length, windows: total, seqlen: L, scored, seconds, tokensPerSecond: (total * L) / seconds };
}

/** The protocol fingerprint printed with every perplexity (DESIGN.md §5). */
export interface Fingerprint {
  text: string;
  textSha256: string;
  tokens: number;
  seqlen: number;
  windows: number;
  bos: false;
  dtype: string;
  device: string;
  runtime: string;
}

export function sha256Prefix(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex").slice(0, 12);
}

export function fingerprintString(f: Fingerprint): string {
  return `text=${f.text} sha256=${f.textSha256} tokens=${f.tokens} seqlen=${f.seqlen} windows=${f.windows} bos=no dtype=${f.dtype} device=${f.device} runtime=${f.runtime}`;
}
