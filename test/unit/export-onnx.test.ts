// MatMulNBits packing from formats.md §4.1 (B[n][kb][j] = u[2j] | u[2j+1] << 4, zero points two per byte, block
// 2i in the low nibble) and transformers' RoPE tables (inv_freq = 1/θ^(2i/d), emb = cat(freqs, freqs)).

import { test } from "node:test";
import assert from "node:assert/strict";
import { packBytes, transposeF32 } from "../../src/export/onnx/linear.js";
import { ropeTables } from "../../src/export/onnx/decoder.js";
import { paramCount } from "../../src/export/onnx/export.js";
import { parseConfig } from "../../src/model/config.js";

test("MatMulNBits B: row n's codes two per byte, element 2j low nibble", () => {
  const u = [1, 2, 3, 4, 15, 0, 7, 8]; // one row, K = 8
  assert.deepEqual([...packBytes(u, 1, 8, 4)], [0x21, 0x43, 0x0f, 0x87]);
  assert.deepEqual([...packBytes([5, 9, 3], 1, 3, 4)], [0x95, 0x03]); // zero points: 3 blocks → 2 bytes, padded
  assert.deepEqual([...packBytes([200, 7], 1, 2, 8)], [200, 7]);
});

test("plain MatMul weight is Wᵀ [K, N]", () => {
  assert.deepEqual([...transposeF32(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3)], [1, 4, 2, 5, 3, 6]);
});

test("RoPE tables: position 1, dim 4, θ = 10000 → freqs [1, 0.01, 1, 0.01]", () => {
  const { cos, sin } = ropeTables(10000, 4, 2);
  assert.deepEqual([...cos.subarray(0, 4)], [1, 1, 1, 1]);
  const want = [Math.cos(1), Math.cos(0.01), Math.cos(1), Math.cos(0.01)].map(Math.fround);
  cos.subarray(4, 8).forEach((c, i) => assert.ok(Math.abs(c - want[i]!) < 1e-7));
  assert.ok(Math.abs(sin[5]! - Math.sin(0.01)) < 1e-7);
});

test("parameter count of llama-t matches its 2.84 M (fixtures README)", () => {
  const spec = parseConfig({ model_type: "llama", hidden_size: 128, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, num_hidden_layers: 4, intermediate_size: 352, vocab_size: 8192 });
  assert.equal(Math.round(paramCount(spec) / 1e4) / 100, 2.84);
});
