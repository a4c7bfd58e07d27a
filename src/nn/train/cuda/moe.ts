// Mixtral sparse MoE forward/backward on the device (src/nn/train/moe.ts, transformers MixtralSparseMoeBlock): router
// logits in exact fp32 on the device, routing decided on the host by the CPU oracle's route() (softmax over all
// experts, top-k, renormalised) so both paths pick the same experts; each expert runs on its routed rows only and gets
// gradients from them only; the router is never trained, but the routing weights' gradient reaches the input.

import type { DevicePtr } from "../../../runtime/cuda/ffi/driver.js";
import { route } from "../moe.js";
import { i32, NULL_PTR, ptr, type Buf, type TrainDevice } from "./context.js";
import { mlpBackward, mlpForward, type DevMlpActs } from "./mlp.js";
import type { DevMlp } from "./weights.js";

interface ExpertCache {
  n: number;
  rows: Buf;
  scale: Buf;
  /** slot index (t·k + s) of each routed row */
  slots: Int32Array;
  x: Buf;
  acts: Buf; // g, u, a back to back [3, n, F]
  out: Buf;
}

export interface DevMoeCache {
  ids: Int32Array;
  r: Float32Array;
  topK: number;
  experts: (ExpertCache | undefined)[];
}

const actsOf = (b: Buf, n: number, F: number): DevMlpActs => ({ g: b.ptr, u: b.ptr + n * F * 4, a: b.ptr + 2 * n * F * 4 });

/** x [T, D] → out [T, D] (written) */
export function moeForward(td: TrainDevice, x: DevicePtr, router: DevicePtr, experts: DevMlp[], T: number, D: number, F: number, topK: number, out: DevicePtr): DevMoeCache {
  const E = experts.length;
  const logits = td.alloc(T * E);
  td.linear(logits.ptr, x, router, T, D, E, 0, true);
  const host = td.download(logits);
  td.free(logits);
  const { ids, r } = route(host, T, E, topK);
  td.dev.driver.memsetD32(out, 0, T * D);
  const cache: DevMoeCache = { ids, r, topK, experts: [] };
  for (let e = 0; e < E; e++) {
    const rows: number[] = [];
    const slots: number[] = [];
    for (let i = 0; i < T * topK; i++) if (ids[i] === e) { rows.push(Math.floor(i / topK)); slots.push(i); }
    if (rows.length === 0) { cache.experts.push(undefined); continue; }
    const n = rows.length;
    const c: ExpertCache = {
      n, rows: td.upload(Int32Array.from(rows)), scale: td.upload(Float32Array.from(slots, (s) => r[s]!)), slots: Int32Array.from(slots),
      x: td.alloc(n * D), acts: td.alloc(3 * n * F), out: td.alloc(n * D),
    };
    td.launch("train_moe.cu", "gather_rows_scaled", n, 128, [ptr(c.x.ptr), ptr(x), ptr(c.rows.ptr), ptr(NULL_PTR), i32(n), i32(D)]);
    mlpForward(td, c.x.ptr, experts[e]!, n, D, F, actsOf(c.acts, n, F), c.out.ptr);
    td.launch("train_moe.cu", "scatter_add_scaled", n, 128, [ptr(out), ptr(c.out.ptr), ptr(c.rows.ptr), ptr(c.scale.ptr), i32(n), i32(D)]);
    cache.experts.push(c);
  }
  return cache;
}

/** dout [T, D] → dx [T, D] (written); onGrad(expert, part, dW) for experts that received tokens (dW bf16 with dw16) */
export function moeBackward(
  td: TrainDevice, dout: DevicePtr, c: DevMoeCache, router: DevicePtr, experts: DevMlp[], T: number, D: number, F: number,
  dwScratch: DevicePtr, dx: DevicePtr, onGrad: (expert: number, part: keyof DevMlp, dw: DevicePtr) => void, dw16 = false,
): void {
  const E = experts.length;
  const k = c.topK;
  const dr = new Float32Array(T * k);
  td.dev.driver.memsetD32(dx, 0, T * D);
  for (let e = 0; e < E; e++) {
    const x = c.experts[e];
    if (!x) continue;
    const { n } = x;
    const dOut = td.alloc(n * D);
    const dot = td.alloc(n);
    const scratch = td.alloc(3 * n * F);
    const dxe = td.alloc(n * D);
    td.launch("train_moe.cu", "gather_rows_scaled", n, 128, [ptr(dOut.ptr), ptr(dout), ptr(x.rows.ptr), ptr(x.scale.ptr), i32(n), i32(D)]);
    td.launch("train_moe.cu", "row_dot_gathered", n, 128, [ptr(dot.ptr), ptr(dout), ptr(x.rows.ptr), ptr(x.out.ptr), i32(n), i32(D)]);
    const dots = td.download(dot);
    x.slots.forEach((s, i) => (dr[s] = dots[i]!));
    mlpBackward(td, dOut.ptr, x.x.ptr, experts[e]!, actsOf(x.acts, n, F), n, D, F, scratch.ptr, dwScratch, dxe.ptr, (part, dw) => onGrad(e, part, dw), 0, undefined, dw16);
    td.launch("train_moe.cu", "scatter_add_scaled", n, 128, [ptr(dx), ptr(dxe.ptr), ptr(x.rows.ptr), ptr(NULL_PTR), i32(n), i32(D)]);
    td.free(dOut, dot, scratch, dxe);
  }
  // r = softmax over the selected logits: dlogit_s = r_s (dr_s − Σ r·dr); unselected logits get 0
  const dlogits = new Float32Array(T * E);
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += c.r[t * k + j]! * dr[t * k + j]!;
    for (let j = 0; j < k; j++) dlogits[t * E + c.ids[t * k + j]!] = c.r[t * k + j]! * (dr[t * k + j]! - s);
  }
  const dl = td.upload(dlogits);
  td.linearDx(dx, dl.ptr, router, T, D, E, 1, true);
  td.free(dl);
}

export function freeMoeCache(td: TrainDevice, c: DevMoeCache): void {
  for (const x of c.experts) if (x) td.free(x.rows, x.scale, x.x, x.acts, x.out);
}
