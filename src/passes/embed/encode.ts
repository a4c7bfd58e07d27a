// Real vectors from memc's own forward: mean-pooled final hidden states (after the final norm) of a model
// over the paragraphs of text files — the vector-store input for tests and the docs/embed.md table.

import { readFile } from "node:fs/promises";
import { openCheckpoint, type Checkpoint } from "../../model/checkpoint.js";
import { loadTokenizer } from "../../model/tokenizer.js";
import { freeHead, hiddenStates, loadHead } from "../../nn/forward.js";
import { CpuOps, type CpuTensor } from "../../runtime/cpu/ops.js";
import type { Ops } from "../../runtime/ops.js";
import { InputError } from "../../util/errors.js";
import type { Emit } from "../../util/events.js";
import { embeddingWeightSource } from "./reconstruct.js";

export interface EncodeOptions {
  /** Paragraphs shorter than this many tokens are skipped (default 16). */
  minTokens?: number;
  /** Longer paragraphs are truncated to this many tokens (default 256). */
  maxTokens?: number;
  /** At most this many paragraphs per file, taken in order (default all). */
  limit?: number;
}

/** Paragraphs = blocks separated by blank lines, whitespace-trimmed. */
export function paragraphs(text: string): string[] {
  return text.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > 0);
}

/** → vectors [n, hidden] fp32, one per kept paragraph, in file order. */
export async function encodeParagraphs(modelDir: string, files: string[], o: EncodeOptions, emit: Emit): Promise<{ x: Float32Array; rows: number; dim: number }> {
  const ckpt = await openCheckpoint(modelDir);
  const tok = await loadTokenizer(modelDir);
  const minT = o.minTokens ?? 16, maxT = Math.min(o.maxTokens ?? 256, ckpt.spec.maxPositions);
  const docs: Int32Array[] = [];
  for (const f of files) {
    let kept = 0;
    for (const p of paragraphs(await readFile(f, "utf8"))) {
      if (o.limit !== undefined && kept >= o.limit) break;
      const ids = tok.encode(p);
      if (ids.length < minT) continue;
      docs.push(ids.subarray(0, maxT));
      kept++;
    }
  }
  if (docs.length === 0) {
    await ckpt.weights.close();
    throw new InputError(`${files.join(", ")}: no paragraph with at least ${minT} tokens`);
  }
  return { x: await meanPooled(ckpt, docs, emit), rows: docs.length, dim: ckpt.spec.hidden };
}

/** Token sequences → mean over each sequence's tokens of the final (normed) hidden state: [docs, hidden].
 *  Closes the checkpoint's weights when done. */
export async function meanPooled(ckpt: Checkpoint, docs: Int32Array[], emit: Emit): Promise<Float32Array> {
  const ops: Ops<CpuTensor> = new CpuOps();
  const D = ckpt.spec.hidden;
  const x = new Float32Array(docs.length * D);
  const src = embeddingWeightSource(ckpt);
  const head = await loadHead(ops, src, ckpt.spec);
  // Batches of similar-length paragraphs, right-padded to the batch's longest: attention is causal, so
  // padding after a paragraph never changes its tokens' states; only real tokens are pooled.
  const order = docs.map((_, i) => i).sort((a, b) => docs[a]!.length - docs[b]!.length);
  const PAD = 0;
  try {
    let done = 0;
    while (done < order.length) {
      const L = docs[order[Math.min(order.length - 1, done)]!]!.length;
      let W = 0;
      let maxL = L;
      while (done + W < order.length && (W + 1) * Math.max(maxL, docs[order[done + W]!]!.length) <= 8192) {
        maxL = Math.max(maxL, docs[order[done + W]!]!.length);
        W++;
      }
      const ids = new Int32Array(W * maxL).fill(PAD);
      for (let w = 0; w < W; w++) ids.set(docs[order[done + w]!]!, w * maxL);
      const h = await hiddenStates(ops, ckpt.spec, src, head, ids, maxL);
      const hv = await ops.download(h);
      ops.free(h);
      for (let w = 0; w < W; w++) {
        const i = order[done + w]!, len = docs[i]!.length;
        for (let t = 0; t < len; t++) for (let j = 0; j < D; j++) x[i * D + j]! += hv[(w * maxL + t) * D + j]! / len;
      }
      done += W;
      emit({ kind: "progress", task: "encode", done, total: docs.length, unit: "paragraphs" });
    }
  } finally {
    freeHead(ops, head);
    await ops.dispose();
    await ckpt.weights.close();
  }
  return x;
}
