// One decoder layer's forward (saving activations) and explicit backward on the device: the math of
// src/nn/train/block.ts (transformers LlamaDecoderLayer / MixtralDecoderLayer, llm.c style), fp32 storage.
//   x → n1 = rms(x) → q,k,v → rope(q,k) → causal GQA attn → o → h = x + o → n2 = rms(h) → mlp|moe → y = h + m
// A BlockWorkspace holds every activation of one window of T tokens, so steps allocate nothing (MoE expert buffers
// aside, which depend on the routing).
// Weight-activation mode (dims.abits and blockForward(…, act = true); Llama only): per-token activation fake-quant at
// the places of src/nn/train/block.ts (OmniQuant QuantLlamaDecoderLayer): the q/k/v input, the o input, the gate/up
// input, the down input, and q, k after RoPE and v per (token, head) row of Dh. The pre-quant tensors are kept in
// "…r" buffers for the backward (kernels/train_act_quant.cu recomputes the row scales from them).
// bf16 GEMM mode: the workspace also holds bf16 copies ("name.16") of the Linear inputs n1, att, n2 and the swiglu output,
// cast once in the forward and reused by the backward's dW GEMMs, one bf16 gradient scratch "g16" (each output gradient
// is cast once for its dW and dx GEMMs), and the low-precision attention's bf16 q, k, v and P (attention.ts).

import type { DevicePtr } from "../../../runtime/cuda/ffi/driver.js";
import type { BlockDims } from "../block.js";
import { ropeTable } from "../rope.js";
import { actQuantBackward, actQuantForward } from "./act-quant.js";
import { attentionBackward, attentionForward, type AttnLowp } from "./attention.js";
import { f32, i32, i64, lowpAttention, NULL_PTR, ptr, type Buf, type Operand, type TrainDevice } from "./context.js";
import { mlpBackward, mlpForward } from "./mlp.js";
import { freeMoeCache, moeBackward, moeForward, type DevMoeCache } from "./moe.js";
import type { DevBlockWeights } from "./weights.js";

export class BlockWorkspace {
  private readonly bufs = new Map<string, Buf>();
  moe?: DevMoeCache;
  /** the input of the last forward (caller-owned; must stay alive until the backward) */
  x: DevicePtr = 0;
  /** activation bits of the last forward (0: activations in full precision) */
  actBits = 0;

  constructor(readonly td: TrainDevice, readonly d: BlockDims, readonly dense: boolean) {
    const { T, D, H, KH, Dh, F } = d;
    const sizes: Record<string, number> = {
      n1: T * D, rstd1: T, q: T * H * Dh, k: T * KH * Dh, v: T * KH * Dh, p: H * T * T, att: T * H * Dh, h: T * D, n2: T * D, rstd2: T,
      m: T * D, dn2: T * D, dh: T * D, datt: T * H * Dh, ds: H * T * T, dq: T * H * Dh, dk: T * KH * Dh, dv: T * KH * Dh, dn1: T * D, dx: T * D,
      dw: Math.max(H * Dh * D, KH * Dh * D, F * D), ...(dense ? { acts: 3 * T * F, mlpScratch: 3 * T * F } : {}),
      ...(d.abits && dense ? { n1r: T * D, qr: T * H * Dh, kr: T * KH * Dh, vr: T * KH * Dh, attr: T * H * Dh, n2r: T * D, ar: T * F } : {}),
    };
    if (td.mode === "bf16") {
      // bf16 elements n → ⌈n/2⌉ fp32 slots; ds holds the bf16 dS only
      const h = (n: number) => Math.ceil(n / 2);
      Object.assign(sizes, {
        "n1.16": h(T * D), "att.16": h(T * H * Dh), "n2.16": h(T * D), g16: h(Math.max(T * D, T * H * Dh)), ...(dense ? { "a.16": h(T * F) } : {}),
        ...(lowpAttention(td, T) ? { q16: h(T * H * Dh), k16: h(T * KH * Dh), v16: h(T * KH * Dh), p16: h(H * T * T), ds: h(H * T * T) } : {}),
      });
    }
    for (const [k, n] of Object.entries(sizes)) this.bufs.set(k, td.alloc(n));
    const tb = ropeTable(T, Dh, d.theta);
    this.bufs.set("cos", td.upload(tb.cos));
    this.bufs.set("sin", td.upload(tb.sin));
  }

  p(name: string): DevicePtr {
    const b = this.bufs.get(name);
    if (!b) throw new Error(`BlockWorkspace: no buffer ${name}`);
    return b.ptr;
  }

  /** bf16 mode: casts buffer `name` [n] into its bf16 copy "name.16" and returns that as an operand; else the fp32 buffer */
  cast(name: string, n: number): Operand {
    return this.td.operand(this.p(name), n, this.bufs.get(`${name}.16`)?.ptr);
  }

  /** the operand of buffer `name` as the last cast() left it (bf16 mode: its bf16 copy) */
  held(name: string): Operand {
    const c = this.td.mode === "bf16" ? this.bufs.get(`${name}.16`) : undefined;
    return c ? { b16: c.ptr } : this.p(name);
  }

  /** bf16 mode: a bf16 buffer by name (else undefined) */
  b16(name: string): DevicePtr | undefined {
    return this.td.mode === "bf16" ? this.bufs.get(name)?.ptr : undefined;
  }

  /** the low-precision attention buffers (bf16 mode), backward ones included */
  lowp(): AttnLowp | undefined {
    if (!lowpAttention(this.td, this.d.T)) return undefined;
    return { q16: this.p("q16"), k16: this.p("k16"), v16: this.p("v16"), p16: this.p("p16"), do16: this.p("g16"), ds16: this.p("ds") };
  }

  bytes(): number {
    let n = 0;
    for (const b of this.bufs.values()) n += b.n * 4;
    return n;
  }

  dispose(): void {
    this.releaseMoe();
    for (const b of this.bufs.values()) this.td.free(b);
    this.bufs.clear();
  }

  releaseMoe(): void {
    if (this.moe) freeMoeCache(this.td, this.moe);
    this.moe = undefined;
  }
}

function rope(ws: BlockWorkspace, x: DevicePtr, heads: number, inverse: boolean): void {
  const { T, Dh } = ws.d;
  ws.td.elementwise("train_rope.cu", "rope_inplace", (T * heads * Dh) / 2, [ptr(x), ptr(ws.p("cos")), ptr(ws.p("sin")), i32(T), i32(heads), i32(Dh), i32(inverse ? 1 : 0)]);
}

function rmsnorm(ws: BlockWorkspace, out: DevicePtr, rstd: DevicePtr, x: DevicePtr, w: DevicePtr): void {
  const { T, D, eps } = ws.d;
  ws.td.launch("train_norm.cu", "rmsnorm_fwd", T, 256, [ptr(out), ptr(rstd), ptr(x), ptr(w), i32(T), i32(D), f32(eps)]);
}

function add(ws: BlockWorkspace, y: DevicePtr, a: DevicePtr, b: DevicePtr, n: number): void {
  ws.td.elementwise("train_elementwise.cu", "add_vec", n, [ptr(y), ptr(a), ptr(b), i64(n)]);
}

/** x [T, D] → y [T, D]; activations stay in ws for blockBackward. act: fake-quantize activations with dims.abits. */
export function blockForward(ws: BlockWorkspace, w: DevBlockWeights, x: DevicePtr, y: DevicePtr, act = false): void {
  const { td, d } = ws;
  const { T, D, H, KH, Dh, F } = d;
  if (act && (!d.abits || !w.mlp)) throw new Error("blockForward: activation quantization needs dims.abits and a dense (Llama) layer");
  const bits = act ? d.abits! : 0;
  ws.releaseMoe();
  ws.x = x;
  ws.actBits = bits;
  // with act, each tensor is written to its "…r" buffer and fake-quantized into the plain one
  const raw = (name: string) => ws.p(bits ? `${name}r` : name);
  const aq = (name: string, rows: number, len: number) => { if (bits) actQuantForward(td, ws.p(name), ws.p(`${name}r`), rows, len, bits); };
  rmsnorm(ws, raw("n1"), ws.p("rstd1"), x, w.inputNorm);
  aq("n1", T, D);
  const n1 = ws.cast("n1", T * D);
  td.linear(raw("q"), n1, w.q, T, D, H * Dh);
  td.linear(raw("k"), n1, w.k, T, D, KH * Dh);
  td.linear(raw("v"), n1, w.v, T, D, KH * Dh);
  rope(ws, raw("q"), H, false);
  rope(ws, raw("k"), KH, false);
  aq("q", T * H, Dh);
  aq("k", T * KH, Dh);
  aq("v", T * KH, Dh);
  attentionForward(td, { T, H, KH, Dh }, ws.p("q"), ws.p("k"), ws.p("v"), ws.p("p"), raw("att"), ws.lowp());
  aq("att", T, H * Dh);
  td.linear(ws.p("m"), ws.cast("att", T * H * Dh), w.o, T, H * Dh, D);
  add(ws, ws.p("h"), x, ws.p("m"), T * D);
  rmsnorm(ws, raw("n2"), ws.p("rstd2"), ws.p("h"), w.postNorm);
  aq("n2", T, D);
  if (w.mlp) {
    const a = ws.p("acts");
    mlpForward(td, ws.cast("n2", T * D), w.mlp, T, D, F, { g: a, u: a + T * F * 4, a: a + 2 * T * F * 4, a16: ws.b16("a.16"), ...(bits ? { aq: { bits, raw: ws.p("ar") } } : {}) }, ws.p("m"));
  } else if (w.router && w.experts && d.topK) {
    ws.moe = moeForward(td, ws.p("n2"), w.router, w.experts, T, D, F, d.topK, ws.p("m"));
  } else throw new Error("blockForward: layer has neither a dense MLP nor router + experts + topK");
  add(ws, y, ws.p("h"), ws.p("m"), T * D);
}

export interface BackwardOptions {
  /** compute dx [T, D] into ws.p("dx") */
  wantDx?: boolean;
  /** accumulate the norm weights' gradients into these [D] buffers */
  normGrads?: { inputNorm: DevicePtr; postNorm: DevicePtr };
  /** bf16 mode: the dW handed to onGrad are bf16 (the dW GEMMs write bf16, half the traffic; LWC's backward reads it) */
  dwBf16?: boolean;
}

/** dy [T, D] → onGrad(key, dW) for every linear that got a gradient (key as in weights.ts linearKeys; dW lives in
 *  ws's scratch and is overwritten by the next linear: consume it in stream order; bf16 with o.dwBf16) */
export function blockBackward(ws: BlockWorkspace, w: DevBlockWeights, dy: DevicePtr, onGrad: (key: string, dw: DevicePtr) => void, o: BackwardOptions = {}): void {
  const { td, d } = ws;
  const { T, D, H, KH, Dh, F } = d;
  const dwS = ws.p("dw");
  const bits = ws.actBits;
  const g16 = ws.b16("g16");
  if (o.dwBf16 && td.mode !== "bf16") throw new Error("blockBackward: dwBf16 needs the bf16 GEMM mode");
  const dw16 = !!o.dwBf16;
  // backward of the activation quantizer of ws buffer `name`, in place on the gradient g
  const aqb = (g: DevicePtr, name: string, rows: number, len: number) => { if (bits) actQuantBackward(td, g, g, ws.p(`${name}r`), rows, len, bits); };
  if (w.mlp) {
    const a = ws.p("acts");
    mlpBackward(td, dy, ws.held("n2"), w.mlp, { g: a, u: a + T * F * 4, a: a + 2 * T * F * 4, a16: ws.b16("a.16"), ...(bits ? { aq: { bits, raw: ws.p("ar") } } : {}) }, T, D, F, ws.p("mlpScratch"), dwS, ws.p("dn2"), (part, dw) => onGrad(`mlp.${part}`, dw), 0, g16, dw16);
  } else {
    moeBackward(td, dy, ws.moe!, w.router!, w.experts!, T, D, F, dwS, ws.p("dn2"), (e, part, dw) => onGrad(`experts.${e}.${part}`, dw), dw16);
  }
  aqb(ws.p("dn2"), "n2", T, D);
  td.launch("train_norm.cu", "rmsnorm_bwd_dx", T, 256, [ptr(ws.p("dh")), ptr(dy), ptr(ws.p("dn2")), ptr(ws.p("h")), ptr(w.postNorm), ptr(ws.p("rstd2")), i32(T), i32(D)]);
  if (o.normGrads) td.launch("train_norm.cu", "rmsnorm_bwd_dw", Math.ceil(D / 128), 128, [ptr(o.normGrads.postNorm), ptr(ws.p("dn2")), ptr(ws.p("h")), ptr(ws.p("rstd2")), i32(T), i32(D)]);
  const dh = td.operand(ws.p("dh"), T * D, g16);
  td.linearDw(dwS, dh, ws.held("att"), T, H * Dh, D, dw16);
  onGrad("o", dwS);
  td.linearDx(ws.p("datt"), dh, w.o, T, H * Dh, D);
  aqb(ws.p("datt"), "att", T, H * Dh);
  attentionBackward(td, { T, H, KH, Dh }, ws.p("datt"), ws.p("q"), ws.p("k"), ws.p("v"), ws.p("p"), ws.p("ds"), ws.p("dq"), ws.p("dk"), ws.p("dv"), ws.lowp());
  aqb(ws.p("dq"), "q", T * H, Dh);
  aqb(ws.p("dk"), "k", T * KH, Dh);
  aqb(ws.p("dv"), "v", T * KH, Dh);
  rope(ws, ws.p("dq"), H, true);
  rope(ws, ws.p("dk"), KH, true);
  // per projection: dW, then (wantDx) its share of dn1 — dn1 = dq·Wq + dk·Wk + dv·Wv in that order; in bf16 mode the
  // one cast of dq (dk, dv) in g16 serves both GEMMs
  const n1 = ws.held("n1");
  for (const [key, width, wp] of [["q", H * Dh, w.q], ["k", KH * Dh, w.k], ["v", KH * Dh, w.v]] as const) {
    const dp = td.operand(ws.p(`d${key}`), T * width, g16);
    td.linearDw(dwS, dp, n1, T, D, width, dw16);
    onGrad(key, dwS);
    if (o.wantDx) td.linearDx(ws.p("dn1"), dp, wp, T, D, width, key === "q" ? 0 : 1);
  }
  if (!o.wantDx) return;
  aqb(ws.p("dn1"), "n1", T, D);
  td.launch("train_norm.cu", "rmsnorm_bwd_dx", T, 256, [ptr(ws.p("dx")), ptr(ws.p("dh")), ptr(ws.p("dn1")), ptr(ws.x), ptr(w.inputNorm), ptr(ws.p("rstd1")), i32(T), i32(D)]);
  if (o.normGrads) td.launch("train_norm.cu", "rmsnorm_bwd_dw", Math.ceil(D / 128), 128, [ptr(o.normGrads.inputNorm), ptr(ws.p("dn1")), ptr(ws.x), ptr(ws.p("rstd1")), i32(T), i32(D)]);
}

export { NULL_PTR };
