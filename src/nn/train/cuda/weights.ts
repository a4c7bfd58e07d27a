// A decoder layer's weights on the device (fp32), in the order of the LinearSlots of
// src/passes/omniquant/block-weights.ts: q, k, v, o, then mlp gate/up/down or each expert's gate/up/down.

import type { DevicePtr } from "../../../runtime/cuda/ffi/driver.js";
import type { BlockWeights } from "../block.js";
import type { Buf, TrainDevice } from "./context.js";

export interface DevMlp {
  gate: DevicePtr;
  up: DevicePtr;
  down: DevicePtr;
}

export interface DevBlockWeights {
  inputNorm: DevicePtr;
  postNorm: DevicePtr;
  q: DevicePtr;
  k: DevicePtr;
  v: DevicePtr;
  o: DevicePtr;
  mlp?: DevMlp;
  router?: DevicePtr;
  experts?: DevMlp[];
}

/** slot keys in LinearSlot order */
export function linearKeys(w: { mlp?: unknown; experts?: unknown[] }): string[] {
  const keys = ["q", "k", "v", "o"];
  if (w.mlp) keys.push("mlp.gate", "mlp.up", "mlp.down");
  w.experts?.forEach((_, e) => keys.push(`experts.${e}.gate`, `experts.${e}.up`, `experts.${e}.down`));
  return keys;
}

/** the pointer of a linear named by key (see linearKeys) */
export function linearPtr(w: DevBlockWeights, key: string): DevicePtr {
  const [a, b, c] = key.split(".");
  if (a === "mlp") return w.mlp![b as keyof DevMlp];
  if (a === "experts") return w.experts![Number(b)]![c as keyof DevMlp];
  return w[a as "q" | "k" | "v" | "o"];
}

/** copy of `w` with every linear replaced by `repl(key, ptr)` (norms and router kept) */
export function mapLinears(w: DevBlockWeights, repl: (key: string, p: DevicePtr) => DevicePtr): DevBlockWeights {
  const mlp = (m: DevMlp, pre: string): DevMlp => ({ gate: repl(`${pre}.gate`, m.gate), up: repl(`${pre}.up`, m.up), down: repl(`${pre}.down`, m.down) });
  return {
    ...w, q: repl("q", w.q), k: repl("k", w.k), v: repl("v", w.v), o: repl("o", w.o),
    ...(w.mlp ? { mlp: mlp(w.mlp, "mlp") } : {}),
    ...(w.experts ? { experts: w.experts.map((e, i) => mlp(e, `experts.${i}`)) } : {}),
  };
}

/** Uploads a host block; returns the device weights and the buffers to free. */
export function uploadBlock(td: TrainDevice, w: BlockWeights): { dw: DevBlockWeights; bufs: Buf[] } {
  const bufs: Buf[] = [];
  const up = (a: Float32Array) => { const b = td.upload(a); bufs.push(b); return b.ptr; };
  const mlp = (m: { gate: Float32Array; up: Float32Array; down: Float32Array }): DevMlp => ({ gate: up(m.gate), up: up(m.up), down: up(m.down) });
  const dw: DevBlockWeights = { inputNorm: up(w.inputNorm), postNorm: up(w.postNorm), q: up(w.q), k: up(w.k), v: up(w.v), o: up(w.o) };
  if (w.mlp) dw.mlp = mlp(w.mlp);
  if (w.router) dw.router = up(w.router);
  if (w.experts) dw.experts = w.experts.map(mlp);
  return { dw, bufs };
}
