// bf16/f16 conversions against bit patterns from the IEEE 754 / bfloat16 definitions.

import { test } from "node:test";
import assert from "node:assert/strict";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../src/runtime/dtypes.js";

test("bf16: exact values, round to nearest even, NaN", () => {
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(f32ToBf16(-2), 0xc000);
  // 1 + 2^-8 is halfway between bf16 1 (0x3f80) and 1+2^-7 (0x3f81): ties to even → 0x3f80
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80);
  // 1 + 3·2^-8 is halfway between 0x3f81 and 0x3f82 → even 0x3f82
  assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
  assert.equal(bf16ToF32(0x4049), 3.140625);
});

test("f16: normals, subnormals, overflow, ties", () => {
  assert.equal(f32ToF16(1), 0x3c00);
  assert.equal(f32ToF16(65504), 0x7bff);
  assert.equal(f32ToF16(65520), 0x7c00); // rounds to +inf
  assert.equal(f32ToF16(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(f16ToF32(0x0001), 2 ** -24);
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00); // tie → even
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(f16ToF32(0xc000), -2);
  assert.ok(Number.isNaN(f16ToF32(0x7e00)));
});
