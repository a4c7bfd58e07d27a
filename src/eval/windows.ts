// The papers' perplexity protocol (DESIGN.md §5): non-overlapping windows of `seqlen`, remainder dropped,
// no BOS added, score tokens 1..L-1 of each window.

import { InputError } from "../util/errors.js";

export function windowCount(tokens: number, seqlen: number): number {
  return Math.floor(tokens / seqlen);
}

export function checkSeqlen(seqlen: number, maxPositions: number, tokens: number, what: string): void {
  if (!Number.isInteger(seqlen) || seqlen < 2) throw new InputError(`--seqlen ${seqlen}: must be an integer ≥ 2`);
  if (seqlen > maxPositions) throw new InputError(`--seqlen ${seqlen}: exceeds the model's max_position_embeddings ${maxPositions}`);
  if (tokens < seqlen) throw new InputError(`${what}: only ${tokens} tokens, fewer than one window of ${seqlen}`);
}

/** Targets for a batch of windows: targets[r] = ids[r+1] within a window; the last row of each window is unscored (-1). */
export function shiftedTargets(ids: Int32Array, L: number): Int32Array {
  const t = new Int32Array(ids.length);
  for (let r = 0; r < ids.length; r++) t[r] = (r + 1) % L === 0 ? 0 : ids[r + 1]!;
  return t;
}
