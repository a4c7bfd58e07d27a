// Per-op GPU time for bench/eval-gpu: wraps an Ops so each call is bracketed by CUDA events on the default stream
// (no synchronisation in between); totals are read once at the end. Host time per op is measured too.

import type { DeviceTensor, Ops } from "../src/runtime/ops.js";
import type { CudaDevice } from "../src/runtime/cuda/device.js";

export interface OpTime {
  op: string;
  calls: number;
  gpuMs: number;
  hostMs: number;
}

export function profiled<T extends DeviceTensor>(ops: Ops<T>, dev: CudaDevice): { ops: Ops<T>; report(): OpTime[] } {
  const d = dev.driver;
  const pending: Array<{ op: string; a: bigint; b: bigint; host: number }> = [];
  const pool: bigint[] = [];
  const ev = () => pool.pop() ?? d.eventCreate();
  const wrapped = new Proxy(ops, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== "function" || prop === "free" || prop === "dispose" || typeof prop !== "string") return typeof v === "function" ? v.bind(target) : v;
      return async (...args: unknown[]) => {
        const a = ev();
        const b = ev();
        const t0 = performance.now();
        d.eventRecord(a);
        const r = await (v as (...x: unknown[]) => unknown).apply(target, args);
        d.eventRecord(b);
        pending.push({ op: prop, a, b, host: performance.now() - t0 });
        return r;
      };
    },
  });
  return {
    ops: wrapped,
    report() {
      d.synchronize();
      const m = new Map<string, OpTime>();
      for (const p of pending) {
        const t = m.get(p.op) ?? { op: p.op, calls: 0, gpuMs: 0, hostMs: 0 };
        t.calls++;
        t.gpuMs += d.eventElapsedMs(p.a, p.b);
        t.hostMs += p.host;
        m.set(p.op, t);
        pool.push(p.a, p.b);
      }
      pending.length = 0;
      return [...m.values()].sort((x, y) => y.gpuMs - x.gpuMs);
    },
  };
}
