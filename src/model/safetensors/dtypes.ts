// safetensors dtype strings (formats.md §1.4): bit width and the canonical sort order used by writers.

/** Increasing alignment order from safetensors' Rust `Dtype` enum (formats.md §1.3). */
export const DTYPE_ORDER = [
  "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
  "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64",
] as const;

export type Dtype = (typeof DTYPE_ORDER)[number];

const BITS: Record<Dtype, number> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32,
  C64: 64, F64: 64, I64: 64, U64: 64,
};

export function isDtype(s: unknown): s is Dtype {
  return typeof s === "string" && (DTYPE_ORDER as readonly string[]).includes(s);
}

export function dtypeBits(d: Dtype): number {
  return BITS[d];
}

export function dtypeRank(d: Dtype): number {
  return DTYPE_ORDER.indexOf(d);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Byte size of a tensor, or undefined when a sub-byte dtype does not fill whole bytes. */
export function byteSize(dtype: Dtype, shape: readonly number[]): number | undefined {
  const bits = numel(shape) * dtypeBits(dtype);
  return bits % 8 === 0 ? bits / 8 : undefined;
}
