// The OmniQuant GPU tests' end-to-end pieces: the CPU and the CUDA run's weights written as checkpoints and scored on
// the same text with the CPU runtime (16 windows of 256), so the two training paths meet at one number; and a run
// killed after 2 layers and resumed, next to an uninterrupted one.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Checkpoint } from "../../src/model/checkpoint.js";
import { evaluateModel } from "../../src/eval/evaluate.js";
import { writeTransformedCheckpoint } from "../../src/pipeline/write-checkpoint.js";
import { silent } from "../../src/util/events.js";
import { runOmniQuant, type OmniQuantOptions, type OmniQuantResult } from "../../src/passes/omniquant/run.js";

/** [cpu, cuda] perplexities of the two runs' outputs (written under tmp/cpu and tmp/gpu); rawConfig: the config.json
 *  to write (activation quantizers) */
export async function cpuCudaPpl(ckpt: Checkpoint, tmp: string, runs: { weights: Map<string, Float32Array> }[], text: string, rawConfig?: Record<string, unknown>): Promise<number[]> {
  const ppl: number[] = [];
  for (const [tag, res] of [["cpu", runs[0]!], ["gpu", runs[1]!]] as const) {
    const dir = join(tmp, tag);
    mkdirSync(dir);
    await writeTransformedCheckpoint(ckpt, dir, (nm) => (res.weights.has(nm) ? { dtype: "F32", compute: async () => res.weights.get(nm)! } : undefined), rawConfig ? { rawConfig } : undefined);
    const [r] = await evaluateModel(dir, [text], { seqlen: 256, device: "cpu", maxWindows: 16 }, silent);
    ppl.push(r!.ppl);
  }
  return ppl;
}

/** the same options run uninterrupted (state in tmp/a) and stopped after 2 layers then started again (tmp/b) */
export async function cutAndResume(ckpt: Checkpoint, tmp: string, base: OmniQuantOptions): Promise<{ full: OmniQuantResult; resumed: OmniQuantResult }> {
  const full = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "a") }, silent);
  const cut = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "b"), stopAfterLayers: 2 }, silent);
  assert.equal(cut.complete, false);
  const resumed = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "b") }, silent);
  assert.deepEqual(resumed.resumed, [0, 1]);
  return { full, resumed };
}
