// LET on the device (kernels/train_let.cu), the math of src/passes/omniquant/let.ts and the LET half of let-step.ts
// (OmniQuant QuantLlamaDecoderLayer.smooth_and_quant_temporary: truncate the scales under no_grad, transform the fp
// weights and norms; the chain rule back to the scales = letBackward). One parameter buffer
// [qkv D | fc1 D | out KH·Dh | qkt KH·Dh] with its gradient and AdamW moments; the transformed block `tw` lives in
// buffers owned here (down_proj is the fp one: LET does not touch it).

import type { DevicePtr } from "../../../runtime/cuda/ffi/driver.js";
import type { BlockDims } from "../block.js";
import { LET_KEYS, type ActMaxima, type LetParams } from "../../../passes/omniquant/let.js";
import { f32, i32, i64, ptr, type Buf, type TrainDevice } from "./context.js";
import { adamwStep } from "./lwc.js";
import type { DevBlockWeights } from "./weights.js";

const NULL = 0;

export class DevLet {
  readonly P: Buf;
  readonly G: Buf;
  private readonly M: Buf;
  private readonly V: Buf;
  /** d(loss)/d(transformed inputNorm | postNorm) [2D], accumulated by blockBackward's normGrads */
  readonly normG: Buf;
  readonly tw: DevBlockWeights;
  private readonly owned: Buf[] = [];
  private readonly rq: Buf; // doubles [H·Dh]
  private readonly rk: Buf; // doubles [KH·Dh]
  private readonly rv: Buf; // doubles [KH·Dh]
  private readonly co: Buf; // [H·Dh]
  /** scratch dL/dW' of one Linear (LWC input gradient) */
  readonly dT: Buf;
  private readonly off: Record<(typeof LET_KEYS)[number], number>;
  private t = 0;

  constructor(readonly td: TrainDevice, readonly d: BlockDims, readonly fp: DevBlockWeights, p: LetParams) {
    const { D, H, KH, Dh, F } = d;
    if (!fp.mlp) throw new Error("DevLet: dense (Llama) layers only");
    const KV = KH * Dh;
    this.off = { qkv: 0, fc1: D, out: 2 * D, qkt: 2 * D + KV };
    const n = 2 * D + 2 * KV;
    this.P = td.alloc(n);
    this.write(p);
    this.G = td.zeros(n);
    this.M = td.zeros(n);
    this.V = td.zeros(n);
    this.normG = td.zeros(2 * D);
    const own = (k: number) => { const b = td.alloc(k); this.owned.push(b); return b.ptr; };
    this.tw = {
      inputNorm: own(D), postNorm: own(D), q: own(H * Dh * D), k: own(KV * D), v: own(KV * D), o: own(D * H * Dh),
      mlp: { gate: own(F * D), up: own(F * D), down: fp.mlp.down },
    };
    this.rq = td.alloc(2 * H * Dh);
    this.rk = td.alloc(2 * KV);
    this.rv = td.alloc(2 * KV);
    this.co = td.alloc(H * Dh);
    this.dT = td.alloc(Math.max(H * Dh * D, F * D));
  }

  /** device pointer of one LET vector in buffer b (P or G) */
  at(b: Buf, k: (typeof LET_KEYS)[number]): DevicePtr {
    return b.ptr + this.off[k] * 4;
  }

  write(p: LetParams): void {
    const host = new Float32Array(this.P.n);
    for (const k of LET_KEYS) host.set(p[k], this.off[k]);
    this.td.write(this.P, host);
  }

  /** the current parameters into p (host) */
  read(p: LetParams): void {
    const host = this.td.download(this.P);
    for (const k of LET_KEYS) p[k].set(host.subarray(this.off[k], this.off[k] + p[k].length));
  }

  private scale(out: DevicePtr, w: DevicePtr, rows: number, cols: number, cs: DevicePtr, cmap: boolean, rs: DevicePtr, rmap: boolean, rdiv: boolean): void {
    const { H, KH, Dh } = this.d;
    this.td.elementwise("train_let.cu", "let_scale", rows * cols, [ptr(out), ptr(w), i32(rows), i32(cols), ptr(cs), i32(cmap ? 1 : 0), ptr(rs), i32(rmap ? 1 : 0), i32(rdiv ? 1 : 0), i32(Dh), i32(H), i32(KH)]);
  }

  /** truncate_number in place, then tw = letTransform(fp, P) */
  truncateAndTransform(): void {
    const { D, H, KH, Dh, F } = this.d;
    const { td, fp, tw, P } = this;
    td.elementwise("train_let.cu", "let_truncate", P.n, [ptr(P.ptr), i64(P.n), f32(1e-2)]);
    const [qkv, fc1, out, qkt] = [this.at(P, "qkv"), this.at(P, "fc1"), this.at(P, "out"), this.at(P, "qkt")];
    this.scale(tw.inputNorm, fp.inputNorm, D, 1, NULL, false, qkv, false, true);
    this.scale(tw.postNorm, fp.postNorm, D, 1, NULL, false, fc1, false, true);
    this.scale(tw.q, fp.q, H * Dh, D, qkv, false, qkt, true, true);
    this.scale(tw.k, fp.k, KH * Dh, D, qkv, false, qkt, false, false);
    this.scale(tw.v, fp.v, KH * Dh, D, qkv, false, out, false, true);
    this.scale(tw.o, fp.o, D, H * Dh, out, true, NULL, false, false);
    this.scale(tw.mlp!.gate, fp.mlp!.gate, F, D, fc1, false, NULL, false, false);
    this.scale(tw.mlp!.up, fp.mlp!.up, F, D, fc1, false, NULL, false, false);
  }

  /** before a backward: zero G, the norm-gradient accumulators and the o column sums */
  zeroGrads(): void {
    const drv = this.td.dev.driver;
    drv.memsetD32(this.G.ptr, 0, this.G.n);
    drv.memsetD32(this.normG.ptr, 0, this.normG.n);
    drv.memsetD32(this.co.ptr, 0, this.co.n);
  }

  private colsum(acc: DevicePtr, g: DevicePtr, w: DevicePtr, rows: number, cols: number, rs: DevicePtr, rmap: boolean, rdiv: boolean): void {
    const { H, KH, Dh } = this.d;
    this.td.launch("train_let.cu", "let_colsum", Math.ceil(cols / 128), 128, [ptr(acc), ptr(g), ptr(w), i32(rows), i32(cols), ptr(rs), i32(rmap ? 1 : 0), i32(rdiv ? 1 : 0), i32(Dh), i32(H), i32(KH)]);
  }

  private rowdot(out: DevicePtr, g: DevicePtr, w: DevicePtr, cs: DevicePtr, rows: number, cols: number): void {
    this.td.launch("train_let.cu", "let_rowdot", Math.ceil((rows * 32) / 256), 256, [ptr(out), ptr(g), ptr(w), ptr(cs), i32(rows), i32(cols)]);
  }

  /** dW' [rows, cols] of the transformed Linear `key` (weights.ts linearKeys) → its share of the LET gradients
   *  (letBackward's sums); down_proj has none */
  linearGrad(key: string, dW: DevicePtr): void {
    const { D, H, KH, Dh, F } = this.d;
    const { fp, G, P } = this;
    const qkv = this.at(P, "qkv");
    switch (key) {
      case "q":
        this.colsum(this.at(G, "qkv"), dW, fp.q, H * Dh, D, this.at(P, "qkt"), true, true);
        return this.rowdot(this.rq.ptr, dW, fp.q, qkv, H * Dh, D);
      case "k":
        this.colsum(this.at(G, "qkv"), dW, fp.k, KH * Dh, D, this.at(P, "qkt"), false, false);
        return this.rowdot(this.rk.ptr, dW, fp.k, qkv, KH * Dh, D);
      case "v":
        this.colsum(this.at(G, "qkv"), dW, fp.v, KH * Dh, D, this.at(P, "out"), false, true);
        return this.rowdot(this.rv.ptr, dW, fp.v, qkv, KH * Dh, D);
      case "o":
        return this.colsum(this.co.ptr, dW, fp.o, D, H * Dh, NULL, false, false);
      case "mlp.gate":
        return this.colsum(this.at(G, "fc1"), dW, fp.mlp!.gate, F, D, NULL, false, false);
      case "mlp.up":
        return this.colsum(this.at(G, "fc1"), dW, fp.mlp!.up, F, D, NULL, false, false);
      case "mlp.down":
        return;
      default:
        throw new Error(`DevLet: no LET gradient for linear ${key}`);
    }
  }

  /** after the backward: the norms' terms and the kv-channel gradients (qkt, out) */
  finishGrads(): void {
    const { D, H, KH, Dh } = this.d;
    const { td, fp, G, P } = this;
    const b = Math.ceil(D / 128);
    td.launch("train_let.cu", "let_norm_grad", b, 128, [ptr(this.at(G, "qkv")), ptr(this.normG.ptr), ptr(fp.inputNorm), ptr(this.at(P, "qkv")), i32(D)]);
    td.launch("train_let.cu", "let_norm_grad", b, 128, [ptr(this.at(G, "fc1")), ptr(this.normG.ptr + D * 4), ptr(fp.postNorm), ptr(this.at(P, "fc1")), i32(D)]);
    td.launch("train_let.cu", "let_kv_grads", Math.ceil((KH * Dh) / 128), 128, [ptr(this.at(G, "qkt")), ptr(this.at(G, "out")), ptr(this.rq.ptr), ptr(this.rk.ptr), ptr(this.rv.ptr), ptr(this.co.ptr), ptr(this.at(P, "qkt")), ptr(this.at(P, "out")), i32(Dh), i32(H), i32(KH)]);
  }

  /** the LET AdamW param group (its own step counter, as run.ts's second optimizer) */
  step(lr: number): void {
    this.t++;
    adamwStep(this.td, { lr, wd: 0 }, this.t, this.P.ptr, this.G.ptr, this.M.ptr, this.V.ptr, this.P.n);
  }

  /** the gradient (host), for tests */
  grads(): LetParams {
    const host = this.td.download(this.G);
    const o = this.off;
    const { D, KH, Dh } = this.d;
    return { qkv: host.slice(o.qkv, o.qkv + D), fc1: host.slice(o.fc1, o.fc1 + D), out: host.slice(o.out, o.out + KH * Dh), qkt: host.slice(o.qkt, o.qkt + KH * Dh) };
  }

  dispose(): void {
    this.td.free(this.P, this.G, this.M, this.V, this.normG, this.rq, this.rk, this.rv, this.co, this.dT, ...this.owned);
  }
}

/** Running per-channel |x| maxima of the fp stream's q/k/v, o and gate/up inputs (let.ts ActMaxima) on the device. */
export class DevActMaxima {
  readonly buf: Buf;
  constructor(readonly td: TrainDevice, readonly d: BlockDims) {
    const n = 2 * d.D + d.H * d.Dh;
    this.buf = td.alloc(n);
    td.dev.driver.memsetD32(this.buf.ptr, 0, n); // |x| ≥ 0: 0 is the identity of the running max
  }

  private acc(off: number, x: DevicePtr, rows: number, cols: number): void {
    this.td.launch("train_let.cu", "absmax_cols", Math.ceil(cols / 128), 128, [ptr(this.buf.ptr + off * 4), ptr(x), i32(rows), i32(cols)]);
  }

  /** n1, att, n2: the fp block's (unquantized) activations of one window */
  add(n1: DevicePtr, att: DevicePtr, n2: DevicePtr): void {
    const { T, D, H, Dh } = this.d;
    this.acc(0, n1, T, D);
    this.acc(D, att, T, H * Dh);
    this.acc(D + H * Dh, n2, T, D);
  }

  read(): ActMaxima {
    const { D, H, Dh } = this.d;
    const h = this.td.download(this.buf);
    this.td.free(this.buf);
    return { n1: h.slice(0, D), att: h.slice(D, D + H * Dh), n2: h.slice(D + H * Dh) };
  }
}
