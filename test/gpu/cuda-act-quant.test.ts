// kernels/act_quant.cu (Ops.actQuant on CUDA) vs its CPU reference src/runtime/cpu/reference/act-quant.ts: per-token
// and per-(token, head) rows, 4/6/8 bits, random inputs with outlier channels. IEEE division and rintf on both sides,
// so the result must be bit-identical. Skips with the reason when no GPU is usable.

import { test } from "node:test";
import assert from "node:assert/strict";
import { actQuantRows } from "../../src/runtime/cpu/reference/act-quant.js";
import { cudaOps, noGpu, randn, seed } from "./helpers.js";

for (const [S, C, rowLen] of [[257, 384, 384], [300, 384, 64], [33, 1024, 1024], [5, 128, 64]] as const) {
  test(`actQuant S=${S} C=${C} rowLen=${rowLen} is bit-identical to the CPU reference`, { skip: noGpu }, async () => {
    const ops = await cudaOps();
    const s = seed();
    const x = randn(S * C, s, 2);
    for (let c = 0; c < C; c += 37) for (let r = 0; r < S; r++) x[r * C + c] = x[r * C + c]! * 40; // outlier channels
    const t = await ops.upload(x, [S, C]);
    for (const bits of [4, 6, 8]) {
      const y = await ops.actQuant(t, rowLen, bits);
      const got = await ops.download(y);
      const want = actQuantRows(x, rowLen, bits);
      let diff = 0;
      for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) diff++;
      assert.equal(diff, 0, `seed ${s} bits ${bits}: ${diff} of ${got.length} values differ`);
      ops.free(y);
    }
    ops.free(t);
  });
}
