// NullOps: the op table with no compute. It checks every shape (same rules as cuda), records one launch per op with
// its FLOPs and bytes moved, and returns zero-filled results, so a whole eval runs in CI and for --dry-run.

import type { DeviceTensor, Ops, RoutingResult } from "../ops.js";
import { shapes } from "./shapes.js";

export class NullTensor implements DeviceTensor {
  constructor(
    readonly shape: readonly number[],
    readonly id: number,
  ) {}
}

export interface LaunchRecord {
  op: string;
  /** output shape (or the input's, for ops that return to the host) */
  shape: number[];
  flops: number;
  bytes: number;
}

export interface LaunchSummary {
  op: string;
  launches: number;
  flops: number;
  bytes: number;
}

export class NullOps implements Ops<NullTensor> {
  readonly device = "null";
  readonly launches: LaunchRecord[] = [];
  private readonly live = new Map<number, number>(); // id → elements
  private nextId = 1;
  private liveElements = 0;
  peakBytes = 0;

  private make(shape: readonly number[]): NullTensor {
    const t = new NullTensor([...shape], this.nextId++);
    const n = shapes.size(shape);
    this.live.set(t.id, n);
    this.liveElements += n;
    this.peakBytes = Math.max(this.peakBytes, this.liveElements * 4);
    return t;
  }

  private record(op: string, shape: readonly number[], flops: number, bytes: number): void {
    this.launches.push({ op, shape: [...shape], flops, bytes });
  }

  private checkLive(...ts: NullTensor[]): void {
    for (const t of ts) if (!this.live.has(t.id)) throw new Error(`null backend: tensor #${t.id} [${t.shape.join(", ")}] used after free`);
  }

  /** Launch counts, FLOPs and bytes per op, in first-seen order. */
  summary(): LaunchSummary[] {
    const m = new Map<string, LaunchSummary>();
    for (const l of this.launches) {
      const s = m.get(l.op) ?? { op: l.op, launches: 0, flops: 0, bytes: 0 };
      s.launches++;
      s.flops += l.flops;
      s.bytes += l.bytes;
      m.set(l.op, s);
    }
    return [...m.values()];
  }

  liveTensors(): number {
    return this.live.size;
  }

  async upload(data: Float32Array, shape: number[]): Promise<NullTensor> {
    if (data.length !== shapes.size(shape)) throw new Error(`upload: ${data.length} values for shape [${shape.join(", ")}]`);
    this.record("upload", shape, 0, data.byteLength);
    return this.make(shape);
  }
  async download(x: NullTensor): Promise<Float32Array> {
    this.checkLive(x);
    return new Float32Array(shapes.size(x.shape));
  }
  free(x: NullTensor): void {
    const n = this.live.get(x.id);
    if (n === undefined) return;
    this.live.delete(x.id);
    this.liveElements -= n;
  }
  async embedding(table: NullTensor, ids: Int32Array): Promise<NullTensor> {
    this.checkLive(table);
    const s = shapes.embedding(table.shape, ids);
    this.record("embedding", s, 0, 8 * shapes.size(s));
    return this.make(s);
  }
  async actQuant(x: NullTensor, rowLen: number, bits: number): Promise<NullTensor> {
    this.checkLive(x);
    const s = shapes.actQuant(x.shape, rowLen, bits);
    this.record("actQuant", s, 6 * shapes.size(s), 8 * shapes.size(s));
    return this.make(s);
  }
  async rmsnorm(x: NullTensor, w: NullTensor, _eps: number): Promise<NullTensor> {
    this.checkLive(x, w);
    const s = shapes.rmsnorm(x.shape, w.shape);
    this.record("rmsnorm", s, 4 * shapes.size(s), 8 * shapes.size(s));
    return this.make(s);
  }
  async linear(x: NullTensor, w: NullTensor, bias?: NullTensor): Promise<NullTensor> {
    this.checkLive(x, w, ...(bias ? [bias] : []));
    const s = shapes.linear(x.shape, w.shape, bias?.shape);
    const K = x.shape[1]!;
    this.record("linear", s, 2 * shapes.size(s) * K, 4 * (shapes.size(x.shape) + shapes.size(w.shape) + shapes.size(s)));
    return this.make(s);
  }
  async rope(x: NullTensor, heads: number, headDim: number, _theta: number, windowLen: number): Promise<NullTensor> {
    this.checkLive(x);
    const s = shapes.rope(x.shape, heads, headDim, windowLen);
    this.record("rope", s, 3 * shapes.size(s), 8 * shapes.size(s));
    return this.make(s);
  }
  async attention(q: NullTensor, k: NullTensor, v: NullTensor, H: number, KH: number, Dh: number, L: number): Promise<NullTensor> {
    this.checkLive(q, k, v);
    const s = shapes.attention(q.shape, k.shape, v.shape, H, KH, Dh, L);
    const W = s[0]! / L;
    this.record("attention", s, W * H * 2 * Dh * L * (L + 1), 4 * (2 * shapes.size(q.shape) + 2 * shapes.size(k.shape)));
    return this.make(s);
  }
  async swiglu(gate: NullTensor, up: NullTensor): Promise<NullTensor> {
    this.checkLive(gate, up);
    const s = shapes.same("swiglu", gate.shape, up.shape);
    this.record("swiglu", s, 5 * shapes.size(s), 12 * shapes.size(s));
    return this.make(s);
  }
  async add(a: NullTensor, b: NullTensor): Promise<NullTensor> {
    this.checkLive(a, b);
    const s = shapes.same("add", a.shape, b.shape);
    this.record("add", s, shapes.size(s), 12 * shapes.size(s));
    return this.make(s);
  }
  /** Deterministic stand-in routing: token s goes to experts (s + j) mod E, weights 1/k. */
  async route(logits: NullTensor, k: number, _renormalize: boolean): Promise<RoutingResult> {
    this.checkLive(logits);
    const [S, E] = shapes.route(logits.shape, k);
    this.record("route", logits.shape, 4 * S * E, 4 * S * E);
    const experts = new Int32Array(S * k);
    for (let s = 0; s < S; s++) for (let j = 0; j < k; j++) experts[s * k + j] = (s + j) % E;
    return { experts, weights: new Float32Array(S * k).fill(1 / k) };
  }
  async gatherRows(x: NullTensor, rows: Int32Array): Promise<NullTensor> {
    this.checkLive(x);
    const s = shapes.rows("gatherRows", x.shape, rows);
    this.record("gatherRows", s, 0, 8 * shapes.size(s));
    return this.make(s);
  }
  async scatterAddRows(out: NullTensor, y: NullTensor, rows: Int32Array, scale: Float32Array): Promise<void> {
    this.checkLive(out, y);
    shapes.scatter(out.shape, y.shape, rows, scale);
    this.record("scatterAddRows", y.shape, 2 * shapes.size(y.shape), 12 * shapes.size(y.shape));
  }
  async sigmoidGate(x: NullTensor, w: NullTensor, y: NullTensor): Promise<NullTensor> {
    this.checkLive(x, w, y);
    const s = shapes.sigmoidGate(x.shape, w.shape, y.shape);
    this.record("sigmoidGate", s, 2 * shapes.size(x.shape) + shapes.size(s), 4 * (shapes.size(x.shape) + 2 * shapes.size(s)));
    return this.make(s);
  }
  async zeros(shape: number[]): Promise<NullTensor> {
    this.record("zeros", shape, 0, 4 * shapes.size(shape));
    return this.make(shape);
  }
  /** Zero losses (ppl 1.0): the null backend measures nothing. */
  async nll(h: NullTensor, w: NullTensor, targets: Int32Array): Promise<Float32Array> {
    this.checkLive(h, w);
    const [S, D, V] = shapes.nll(h.shape, w.shape, targets);
    this.record("nll", [S], 2 * S * D * V + 3 * S * V, 4 * (S * D + V * D));
    return new Float32Array(S);
  }
  async dispose(): Promise<void> {
    this.live.clear();
    this.liveElements = 0;
  }
}
