// Perplexity of an exported model.onnx in onnxruntime-node (`memc eval --runtime ort`): each token window runs
// as one [1, S] batch, NLL of tokens 1..S−1 from log-softmax of the previous position's logits (fp64 sums).

import type ort from "onnxruntime-node";
import { InputError } from "../../util/errors.js";
import { openOrtSession, runLogits, type OrtDevice } from "./ort-session.js";

export interface OrtEvalOptions {
  device?: OrtDevice;
  /** intra-op threads, 0 = onnxruntime's default */
  threads?: number;
  /** called after each window (for progress events) */
  onWindow?: (done: number, total: number) => void;
}

export interface OrtEvalResult {
  /** per window: summed NLL over its scored tokens (nats) */
  windowNll: number[];
  /** per window: scored tokens (S − 1) */
  windowTokens: number[];
  /** exp(Σ NLL / Σ tokens) */
  ppl: number;
  seconds: number;
  /** input tokens per second through the session (windows × S / seconds) */
  tokensPerSecond: number;
  device: OrtDevice;
}

/** NLL of each next token under logits [S, V]: position t scores ids[t+1]; returns the sum over t = 0..S−2. */
export function windowNll(logits: Float32Array, ids: ArrayLike<number>, S: number, V: number): number {
  let total = 0;
  for (let t = 0; t < S - 1; t++) {
    const o = t * V;
    let mx = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v]! > mx) mx = logits[o + v]!;
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[o + v]! - mx);
    const target = ids[t + 1]!;
    if (target < 0 || target >= V) throw new InputError(`token id ${target} outside the vocabulary (${V})`);
    total += mx + Math.log(sum) - logits[o + target]!;
  }
  return total;
}

/** windows: token ids, each a window of the same or different lengths (≥ 2). */
export async function ortPerplexity(modelPath: string, windows: ArrayLike<number>[], o: OrtEvalOptions = {}): Promise<OrtEvalResult> {
  const device = o.device ?? "cpu";
  const session: ort.InferenceSession = await openOrtSession(modelPath, device, o.threads ?? 0);
  try {
    const windowNllOut: number[] = [];
    const windowTokens: number[] = [];
    let inputTokens = 0;
    const t0 = performance.now();
    for (let i = 0; i < windows.length; i++) {
      const ids = windows[i]!;
      const S = ids.length;
      if (S < 2) throw new InputError(`window ${i}: ${S} tokens, need at least 2`);
      const logits = await runLogits(session, ids, 1, S);
      const V = logits.length / S;
      windowNllOut.push(windowNll(logits, ids, S, V));
      windowTokens.push(S - 1);
      inputTokens += S;
      o.onWindow?.(i + 1, windows.length);
    }
    const seconds = (performance.now() - t0) / 1000;
    const nll = windowNllOut.reduce((a, b) => a + b, 0);
    const n = windowTokens.reduce((a, b) => a + b, 0);
    return { windowNll: windowNllOut, windowTokens, ppl: Math.exp(nll / n), seconds, tokensPerSecond: inputTokens / seconds, device };
  } finally {
    await session.release();
  }
}
