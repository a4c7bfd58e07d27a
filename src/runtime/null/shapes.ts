// Shape rules of the op table (src/runtime/ops.ts), shared by the cuda and null backends: each returns the output
// shape or throws a MemcError naming the op, the argument and the shapes it got.

import { InputError } from "../../util/errors.js";

type Shape = readonly number[];

const fmt = (s: Shape) => `[${s.join(", ")}]`;

function fail(op: string, what: string): never {
  throw new InputError(`${op}: ${what}`);
}

function matrix(op: string, name: string, s: Shape): [number, number] {
  if (s.length !== 2) fail(op, `${name} must be 2-D, got ${fmt(s)}`);
  return [s[0]!, s[1]!];
}

export const shapes = {
  embedding(table: Shape, ids: Int32Array): number[] {
    const [V, D] = matrix("embedding", "table", table);
    for (let i = 0; i < ids.length; i++) if (ids[i]! < 0 || ids[i]! >= V) fail("embedding", `ids[${i}] = ${ids[i]} outside [0, ${V})`);
    return [ids.length, D];
  },
  actQuant(x: Shape, rowLen: number, bits: number): number[] {
    const [S, C] = matrix("actQuant", "x", x);
    if (!Number.isInteger(rowLen) || rowLen <= 0 || C % rowLen !== 0) fail("actQuant", `rowLen ${rowLen} must divide the ${C} columns of x ${fmt(x)}`);
    if (!Number.isInteger(bits) || bits < 2 || bits > 16) fail("actQuant", `bits must be an integer in [2, 16], got ${bits}`);
    return [S, C];
  },
  rmsnorm(x: Shape, w: Shape): number[] {
    const [S, D] = matrix("rmsnorm", "x", x);
    if (w.length !== 1 || w[0] !== D) fail("rmsnorm", `w must be [${D}] for x ${fmt(x)}, got ${fmt(w)}`);
    return [S, D];
  },
  linear(x: Shape, w: Shape, bias?: Shape): number[] {
    const [S, K] = matrix("linear", "x", x);
    const [N, K2] = matrix("linear", "w", w);
    if (K !== K2) fail("linear", `x ${fmt(x)} and w ${fmt(w)} disagree on K (w is [out, in])`);
    if (bias && (bias.length !== 1 || bias[0] !== N)) fail("linear", `bias must be [${N}], got ${fmt(bias)}`);
    return [S, N];
  },
  rope(x: Shape, heads: number, headDim: number, windowLen: number): number[] {
    const [R, C] = matrix("rope", "x", x);
    if (C !== heads * headDim) fail("rope", `x ${fmt(x)} is not [rows, ${heads}·${headDim}]`);
    if (headDim % 2) fail("rope", `headDim ${headDim} is odd`);
    if (windowLen < 1 || R % windowLen) fail("rope", `rows ${R} is not a multiple of windowLen ${windowLen}`);
    return [R, C];
  },
  attention(q: Shape, k: Shape, v: Shape, H: number, KH: number, Dh: number, L: number): number[] {
    const [R, C] = matrix("attention", "q", q);
    if (C !== H * Dh) fail("attention", `q ${fmt(q)} is not [rows, ${H}·${Dh}]`);
    for (const [n, s] of [["k", k], ["v", v]] as const) {
      if (s.length !== 2 || s[0] !== R || s[1] !== KH * Dh) fail("attention", `${n} ${fmt(s)} is not [${R}, ${KH}·${Dh}]`);
    }
    if (H % KH) fail("attention", `heads ${H} is not a multiple of kvHeads ${KH}`);
    if (L < 1 || R % L) fail("attention", `rows ${R} is not a multiple of windowLen ${L}`);
    return [R, C];
  },
  same(op: string, a: Shape, b: Shape): number[] {
    if (a.length !== b.length || a.some((d, i) => d !== b[i])) fail(op, `shapes differ: ${fmt(a)} vs ${fmt(b)}`);
    return [...a];
  },
  route(logits: Shape, k: number): [number, number] {
    const [S, E] = matrix("route", "logits", logits);
    if (k < 1 || k > E || k > 16) fail("route", `k = ${k} must be in [1, min(${E}, 16)]`);
    if (E > 1024) fail("route", `${E} experts: at most 1024 supported`);
    return [S, E];
  },
  rows(op: string, x: Shape, rows: Int32Array): number[] {
    const [S, D] = matrix(op, "x", x);
    for (let i = 0; i < rows.length; i++) if (rows[i]! < 0 || rows[i]! >= S) fail(op, `rows[${i}] = ${rows[i]} outside [0, ${S})`);
    return [rows.length, D];
  },
  scatter(out: Shape, y: Shape, rows: Int32Array, scale: Float32Array): void {
    const [, D] = matrix("scatterAddRows", "out", out);
    const [R, D2] = matrix("scatterAddRows", "y", y);
    if (D !== D2 || R !== rows.length || R !== scale.length) fail("scatterAddRows", `out ${fmt(out)}, y ${fmt(y)}, rows ${rows.length}, scale ${scale.length} disagree`);
    shapes.rows("scatterAddRows", out, rows);
  },
  sigmoidGate(x: Shape, w: Shape, y: Shape): number[] {
    const [S, D] = matrix("sigmoidGate", "x", x);
    if (w.reduce((a, b) => a * b, 1) !== D) fail("sigmoidGate", `w ${fmt(w)} must hold ${D} values`);
    const [S2, F] = matrix("sigmoidGate", "y", y);
    if (S2 !== S) fail("sigmoidGate", `x ${fmt(x)} and y ${fmt(y)} disagree on rows`);
    return [S, F];
  },
  nll(h: Shape, w: Shape, targets: Int32Array): [number, number, number] {
    const [S, D] = matrix("nll", "h", h);
    const [V, D2] = matrix("nll", "w", w);
    if (D !== D2) fail("nll", `h ${fmt(h)} and w ${fmt(w)} disagree on D`);
    if (targets.length !== S) fail("nll", `targets has ${targets.length} entries for ${S} rows`);
    for (let i = 0; i < S; i++) if (targets[i]! < 0 || targets[i]! >= V) fail("nll", `targets[${i}] = ${targets[i]} outside [0, ${V})`);
    return [S, D, V];
  },
  size(shape: Shape): number {
    let n = 1;
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) fail("shape", `bad dimension in ${fmt(shape)}`);
      n *= d;
    }
    return n;
  },
};
