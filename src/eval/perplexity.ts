// Perplexity over non-overlapping windows, streamed: windows go through the model in chunks, each chunk
// layer by layer (one block's weights loaded at a time, or all of them when they fit `residentBytes`), with
// lm_head + NLL fused so full logits are never kept.

import { createHash } from "node:crypto";
import type { ModelSpec } from "../model/config.js";
import type { DeviceTensor, Ops } from "../runtime/ops.js";
import type { Emit } from "../util/events.js";
import { freeHead, hiddenStates, layerBytesF32, loadHead } from "../nn/forward.js";
import { freeLayer, loadLayer, type LayerTensors } from "../nn/layer-weights.js";
import type { WeightSource } from "../nn/layer-weights.js";
import { shiftedTargets, windowCount } from "./windows.js";

export interface PplOptions {
  seqlen: number;
  /** Evaluate only the first N windows (quick checks); default all. */
  maxWindows?: number;
  /** Tokens per chunk pushed through the layers together (bounds activation memory). */
  chunkTokens?: number;
  task?: string;
  /** Keep all layers loaded for the whole run when their fp32 size is at most this (default 1 GiB; 0 = always stream). */
  residentBytes?: number;
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
  const resident: LayerTensors<T>[] | undefined = layerBytesF32(spec) <= (opts.residentBytes ?? 2 ** 30) && total > perChunk ? [] : undefined;
  for (let i = 0; resident && i < spec.layers; i++) resident.push(await loadLayer(ops, src, spec, i));
  let sum = 0;
  let scored = 0;
  try {
    for (let w = 0; w < total; w += perChunk) {
      const n = Math.min(perChunk, total - w);
      const ids = tokens.subarray(w * L, (w + n) * L);
      const h = await hiddenStates(ops, spec, src, head, ids, L, resident);
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
    for (const l of resident ?? []) freeLayer(ops, l);
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
