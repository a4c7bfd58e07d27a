// Writes a Llama decoder-layer case (random weights, x, upstream dy) with memc's training-block y and gradients to JSON,
// for bench/omniquant_block_torch.py to recompute with transformers' LlamaDecoderLayer + torch autograd.
// Usage: node dist/bench/omniquant-block-case.js OUT.json

import { writeFileSync } from "node:fs";
import { block_backward, block_forward, type BlockDims, type BlockWeights } from "../src/nn/train/block.js";
import { rng } from "../test/helpers/random.js";

const r = rng(17);
const rand = (n: number, s: number) => Float32Array.from({ length: n }, () => r() * 2 * s);
const d: BlockDims = { T: 48, D: 64, H: 4, KH: 2, Dh: 16, F: 96, eps: 1e-5, theta: 10000 };
const w: BlockWeights = {
  inputNorm: Float32Array.from({ length: d.D }, () => 1 + r()), postNorm: Float32Array.from({ length: d.D }, () => 1 + r()),
  q: rand(64 * 64, 0.25), k: rand(32 * 64, 0.25), v: rand(32 * 64, 0.25), o: rand(64 * 64, 0.25),
  mlp: { gate: rand(96 * 64, 0.25), up: rand(96 * 64, 0.25), down: rand(64 * 96, 0.2) },
};
const x = rand(d.T * d.D, 1);
const dy = rand(d.T * d.D, 1);
const { y, cache } = await block_forward(x, w, d);
const g = await block_backward(dy, cache, w, d, true);
const arr = (a: Float32Array) => [...a];
writeFileSync(process.argv[2] ?? "omniquant-block-case.json", JSON.stringify({
  dims: d, x: arr(x), dy: arr(dy), y: arr(y),
  w: { inputNorm: arr(w.inputNorm), postNorm: arr(w.postNorm), q: arr(w.q), k: arr(w.k), v: arr(w.v), o: arr(w.o), gate: arr(w.mlp!.gate), up: arr(w.mlp!.up), down: arr(w.mlp!.down) },
  grad: { x: arr(g.dx!), inputNorm: arr(g.inputNorm!), postNorm: arr(g.postNorm), q: arr(g.q), k: arr(g.k), v: arr(g.v), o: arr(g.o), gate: arr(g.mlp!.gate), up: arr(g.mlp!.up), down: arr(g.mlp!.down) },
}));
