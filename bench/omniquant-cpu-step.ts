// CPU breakdown of one OmniQuant LWC training step on a real layer (default: llama-s layer 0, one 512-token window):
// LWC fake-quant forward, block forward, block backward, LWC backward, AdamW. Usage: node dist/bench/omniquant-cpu-step.js [model] [T]

import { openCheckpoint } from "../src/model/checkpoint.js";
import { block_backward, block_forward } from "../src/nn/train/block.js";
import { AdamW } from "../src/passes/omniquant/adamw.js";
import { blockDims, cloneBlock, loadBlock } from "../src/passes/omniquant/block-weights.js";
import { Lwc } from "../src/passes/omniquant/lwc.js";

const model = process.argv[2] ?? "../shared/fixtures/models/llama-s";
const T = Number(process.argv[3] ?? 512);
const ckpt = await openCheckpoint(model);
const dims = blockDims(ckpt, T);
const { w: fp, slots } = await loadBlock(ckpt, 0);
const lwcs = slots.map((s) => new Lwc(s.module, s.rows, s.cols, { bits: 3, groupSize: 128, sym: false }));
const opt = new AdamW(lwcs.flatMap((q) => [q.gamma, q.beta]), 1e-2);
const x = Float32Array.from({ length: T * dims.D }, (_, i) => Math.sin(i * 0.37));
const qw = cloneBlock(fp);
const acc: Record<string, number> = {};
const tick = (k: string, t0: number) => (acc[k] = (acc[k] ?? 0) + performance.now() - t0);
const N = 6;
for (let it = 0; it < N + 1; it++) {
  if (it === 1) for (const k of Object.keys(acc)) acc[k] = 0; // first step warms the sessions
  let t = performance.now();
  slots.forEach((s, i) => s.set(qw, lwcs[i]!.forward(s.get(fp))));
  tick("lwc forward", t);
  t = performance.now();
  const { y, cache } = await block_forward(x, qw, dims);
  tick("block forward", t);
  t = performance.now();
  const g = await block_backward(y, cache, qw, dims, false);
  tick("block backward", t);
  t = performance.now();
  const grads = slots.flatMap((s, i) => {
    const dg = new Float32Array(lwcs[i]!.gamma.length), db = new Float32Array(lwcs[i]!.beta.length);
    lwcs[i]!.backward(s.get(fp), s.grad(g)!, dg, db);
    return [dg, db];
  });
  tick("lwc backward", t);
  t = performance.now();
  opt.step(grads);
  tick("adamw", t);
}
let total = 0;
for (const [k, v] of Object.entries(acc)) { console.log(`${k.padEnd(16)} ${(v / N).toFixed(1)} ms`); total += v / N; }
console.log(`step             ${total.toFixed(1)} ms  (${model}, T=${T}, ${process.env.MEMC_CPU_THREADS ?? "default"} threads)`);
