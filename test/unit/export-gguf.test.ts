// ggml blocks and the GGUF container against hand-worked bytes from the spec (ggml-quants.c reference
// quantizers, docs/gguf.md), and llama.cpp's q/k row permutation from convert_hf_to_gguf.py.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dequantizeRow, encodeCodes, quantizeRow } from "../../src/export/gguf/quants.js";
import { permuteQK } from "../../src/export/gguf/export.js";
import { writeGguf } from "../../src/export/gguf/writer.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("Q4_0: x = j − 16 → d = max/−8 = 2 (f16 0x4000), q_j = ⌊(j+1)/2⌋ capped at 15, byte j = q_j | q_{j+16} << 4", () => {
  const x = Float32Array.from({ length: 32 }, (_, j) => j - 16);
  const b = quantizeRow("Q4_0", x);
  assert.equal(b.length, 18);
  assert.equal(hex(b.subarray(0, 2)), "0040");
  assert.equal(b[2], 0x80); // q0 = 0, q16 = 8
  assert.equal(b[3], 0x91); // q1 = 1, q17 = 9
  assert.equal(b[17], 0xf8); // q15 = 8, q31 = min(15, 16)
  const y = dequantizeRow("Q4_0", b, 32);
  assert.equal(y[0], -16); // (0 − 8)·2
  assert.equal(y[31], 14); // (15 − 8)·2: the top value saturates
});

test("Q4_1: x = 1 + (j mod 16) → d = 1, m = 1 (f16 0x3c00 each), byte j = j·0x11", () => {
  const x = Float32Array.from({ length: 32 }, (_, j) => 1 + (j % 16));
  const b = quantizeRow("Q4_1", x);
  assert.equal(b.length, 20);
  assert.equal(hex(b.subarray(0, 4)), "003c003c");
  assert.deepEqual([...b.subarray(4)], Array.from({ length: 16 }, (_, j) => j * 0x11));
  assert.deepEqual([...dequantizeRow("Q4_1", b, 32)], [...x]);
});

test("Q8_0: x = j − 16 → d = 16/127 (f16 0x3008), q = roundf(x·127/16): −127, 0, 119", () => {
  const x = Float32Array.from({ length: 32 }, (_, j) => j - 16);
  const b = quantizeRow("Q8_0", x);
  assert.equal(b.length, 34);
  assert.equal(hex(b.subarray(0, 2)), "0830");
  const q = new Int8Array(b.buffer, 2, 32);
  assert.equal(q[0], -127);
  assert.equal(q[16], 0);
  assert.equal(q[31], 119);
});

test("F16 rows are IEEE half, little endian", () => {
  assert.equal(hex(quantizeRow("F16", Float32Array.from([1, -2, 0.5]))), "003c00c00038");
});

test("memc codes → Q4_1 block: d = s, m = −z·s; codes kept (ŵ = (q − z)·s exactly when s, z·s fit f16)", () => {
  const q = Uint8Array.from({ length: 32 }, (_, j) => j % 16);
  const b = encodeCodes("Q4_1", q, [0.5], [3]);
  assert.equal(hex(b.subarray(0, 4)), "003800be"); // 0.5, −1.5
  assert.equal(b[4], 0x00);
  assert.equal(b[5], 0x11);
  const y = dequantizeRow("Q4_1", b, 32);
  for (let j = 0; j < 32; j++) assert.equal(y[j], ((j % 16) - 3) * 0.5);
});

test("q/k permutation: one head of 4 rows [r0 r1 r2 r3] → [r0 r2 r1 r3] (halves interleaved)", () => {
  const w = Float32Array.from([10, 11, 12, 13]); // 4 rows × K=1
  assert.deepEqual([...permuteQK(w, 1, 1)], [10, 12, 11, 13]);
  const w2 = Float32Array.from({ length: 8 }, (_, i) => i); // 2 heads × 4 rows, K = 1
  assert.deepEqual([...permuteQK(w2, 2, 1)], [0, 2, 1, 3, 4, 6, 5, 7]);
});

test("GGUF container: magic, version 3, counts, typed KV, tensor info, data at a 32-byte boundary", async () => {
  const dir = await mkdtemp(join(tmpdir(), "memc-gguf-"));
  try {
    const p = join(dir, "t.gguf");
    await writeGguf(p, [["a.b", { type: "u32", v: 7 }]], [{ name: "w", type: "F32", dims: [2], bytes: () => new Uint8Array(Float32Array.from([1, 2]).buffer) }]);
    const b = await readFile(p);
    const expectHeader = Buffer.concat([
      Buffer.from("GGUF"), u32(3), u64(1), u64(1),
      u64(3), Buffer.from("a.b"), u32(4), u32(7), // key, type UINT32, value
      u64(1), Buffer.from("w"), u32(1), u64(2), u32(0), u64(0), // name, n_dims, ne[0], GGML_TYPE_F32, offset
    ]);
    assert.equal(b.subarray(0, expectHeader.length).toString("hex"), expectHeader.toString("hex"));
    const dataStart = Math.ceil(expectHeader.length / 32) * 32;
    assert.equal(b.readFloatLE(dataStart), 1);
    assert.equal(b.readFloatLE(dataStart + 4), 2);
    assert.equal(b.length % 32, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function u32(v: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; }
function u64(v: number): Buffer { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; }
