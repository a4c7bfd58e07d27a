// Loads one decoder layer's fp32 weights into the training block's layout and names its quantizable Linears
// (src/model/names.ts quantizableLinears: q/k/v/o and MLP or expert projections; never the router or norms).

import type { Checkpoint } from "../../model/checkpoint.js";
import { layerNames, quantizableLinears } from "../../model/names.js";
import type { BlockDims, BlockGrads, BlockWeights } from "../../nn/train/block.js";
import type { MlpWeights } from "../../nn/train/mlp.js";
import { InputError } from "../../util/errors.js";

/** One quantizable Linear of the block: its module name, shape [rows, cols] and where it lives in BlockWeights/Grads. */
export interface LinearSlot {
  module: string;
  rows: number;
  cols: number;
  get(w: BlockWeights): Float32Array;
  set(w: BlockWeights, v: Float32Array): void;
  grad(g: BlockGrads): Float32Array | undefined;
}

export function blockDims(ckpt: Checkpoint, T: number): BlockDims {
  const s = ckpt.spec;
  if (s.family === "qwen2_moe") throw new InputError(`${ckpt.dir}: omniquant supports llama-family and mixtral layers, not ${s.modelType} yet`);
  if (s.attentionBias) throw new InputError(`${ckpt.dir}: omniquant does not support attention biases (${s.modelType}) yet`);
  return { T, D: s.hidden, H: s.heads, KH: s.kvHeads, Dh: s.headDim, F: s.moe ? s.moe.expertIntermediate : s.intermediate, eps: s.rmsEps, theta: s.ropeTheta, ...(s.moe ? { topK: s.moe.topK } : {}) };
}

export async function loadBlock(ckpt: Checkpoint, i: number): Promise<{ w: BlockWeights; slots: LinearSlot[] }> {
  const n = layerNames(ckpt.spec, i);
  const f = (name: string) => ckpt.weights.f32(name);
  const mlp = async (m: { gate: string; up: string; down: string }): Promise<MlpWeights> => ({ gate: await f(`${m.gate}.weight`), up: await f(`${m.up}.weight`), down: await f(`${m.down}.weight`) });
  const w: BlockWeights = {
    inputNorm: await f(n.inputNorm), postNorm: await f(n.postNorm),
    q: await f(`${n.q}.weight`), k: await f(`${n.k}.weight`), v: await f(`${n.v}.weight`), o: await f(`${n.o}.weight`),
  };
  if (n.mlp) w.mlp = await mlp(n.mlp);
  if (n.experts) {
    w.router = await f(`${n.router}.weight`);
    w.experts = [];
    for (const e of n.experts) w.experts.push(await mlp(e));
  }
  const shape = (module: string) => ckpt.weights.info(`${module}.weight`).shape as [number, number];
  const slot = (module: string, get: (w: BlockWeights) => Float32Array, set: (w: BlockWeights, v: Float32Array) => void, grad: (g: BlockGrads) => Float32Array | undefined): LinearSlot => {
    const [rows, cols] = shape(module);
    return { module, rows, cols, get, set, grad };
  };
  const slots: LinearSlot[] = [
    slot(n.q, (w) => w.q, (w, v) => (w.q = v), (g) => g.q),
    slot(n.k, (w) => w.k, (w, v) => (w.k = v), (g) => g.k),
    slot(n.v, (w) => w.v, (w, v) => (w.v = v), (g) => g.v),
    slot(n.o, (w) => w.o, (w, v) => (w.o = v), (g) => g.o),
  ];
  for (const p of ["gate", "up", "down"] as const) {
    if (n.mlp) slots.push(slot(n.mlp[p], (w) => w.mlp![p], (w, v) => (w.mlp![p] = v), (g) => g.mlp?.[p]));
  }
  n.experts?.forEach((e, ei) => {
    for (const p of ["gate", "up", "down"] as const) slots.push(slot(e[p], (w) => w.experts![ei]![p], (w, v) => (w.experts![ei]![p] = v), (g) => g.experts?.[ei]?.[p]));
  });
  const want = new Set(quantizableLinears(ckpt.spec, i));
  if (slots.length !== want.size || slots.some((s) => !want.has(s.module))) throw new Error(`layer ${i}: training slots do not match quantizableLinears`);
  return { w, slots };
}

/** A shallow copy whose Linear weights can be swapped for fake-quantized ones without touching the fp originals. */
export function cloneBlock(w: BlockWeights): BlockWeights {
  return { ...w, ...(w.mlp ? { mlp: { ...w.mlp } } : {}), ...(w.experts ? { experts: w.experts.map((e) => ({ ...e })) } : {}) };
}
