// Loads one decoder layer's weights from a WeightSource onto a backend (and frees them after): one block in memory.

import type { ModelSpec } from "../model/config.js";
import { layerNames, type ExpertNames } from "../model/names.js";
import type { DeviceTensor, Ops } from "../runtime/ops.js";

/** Anything that yields fp32 tensors by name: a checkpoint's WeightStore, or a pass's in-memory overrides. */
export interface WeightSource {
  has(name: string): boolean;
  f32(name: string, shape?: number[]): Promise<Float32Array>;
}

export interface Mlp<T> {
  gate: T;
  up: T;
  down: T;
}

export interface LayerTensors<T> {
  inputNorm: T;
  postNorm: T;
  q: T;
  k: T;
  v: T;
  o: T;
  qBias?: T;
  kBias?: T;
  vBias?: T;
  mlp?: Mlp<T>;
  router?: T;
  experts?: Mlp<T>[];
  shared?: Mlp<T>;
  sharedGate?: T;
}

export async function loadTensor<T extends DeviceTensor>(ops: Ops<T>, src: WeightSource, name: string, shape: number[]): Promise<T> {
  return ops.upload(await src.f32(name, shape), shape);
}

export async function loadLayer<T extends DeviceTensor>(ops: Ops<T>, src: WeightSource, spec: ModelSpec, i: number): Promise<LayerTensors<T>> {
  const n = layerNames(spec, i);
  const { hidden: D, heads: H, kvHeads: KH, headDim: Dh } = spec;
  const lt = (name: string, shape: number[]) => loadTensor(ops, src, name, shape);
  const mlp = async (m: ExpertNames, F: number): Promise<Mlp<T>> => ({
    gate: await lt(`${m.gate}.weight`, [F, D]),
    up: await lt(`${m.up}.weight`, [F, D]),
    down: await lt(`${m.down}.weight`, [D, F]),
  });
  const out: LayerTensors<T> = {
    inputNorm: await lt(n.inputNorm, [D]),
    postNorm: await lt(n.postNorm, [D]),
    q: await lt(`${n.q}.weight`, [H * Dh, D]),
    k: await lt(`${n.k}.weight`, [KH * Dh, D]),
    v: await lt(`${n.v}.weight`, [KH * Dh, D]),
    o: await lt(`${n.o}.weight`, [D, H * Dh]),
  };
  if (spec.attentionBias) {
    out.qBias = await lt(`${n.q}.bias`, [H * Dh]);
    out.kBias = await lt(`${n.k}.bias`, [KH * Dh]);
    out.vBias = await lt(`${n.v}.bias`, [KH * Dh]);
  }
  if (n.mlp) out.mlp = await mlp(n.mlp, spec.intermediate);
  if (n.router) out.router = await lt(`${n.router}.weight`, [spec.moe!.experts, D]);
  if (n.experts) {
    out.experts = [];
    for (const e of n.experts) out.experts.push(await mlp(e, spec.moe!.expertIntermediate));
  }
  if (n.shared) out.shared = await mlp(n.shared, spec.moe!.sharedIntermediate);
  if (n.sharedGate) out.sharedGate = await lt(`${n.sharedGate}.weight`, [1, D]);
  return out;
}

export function freeLayer<T extends DeviceTensor>(ops: Ops<T>, l: LayerTensors<T>): void {
  const all: (T | undefined)[] = [l.inputNorm, l.postNorm, l.q, l.k, l.v, l.o, l.qBias, l.kBias, l.vBias, l.router, l.sharedGate];
  for (const m of [l.mlp, l.shared, ...(l.experts ?? [])]) if (m) all.push(m.gate, m.up, m.down);
  for (const x of all) if (x) ops.free(x);
}
