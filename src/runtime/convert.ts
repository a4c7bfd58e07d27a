// Raw tensor bytes ⇄ Float32Array for the float dtypes memc computes with (and integer dtypes for ids).

import { InputError } from "../util/errors.js";
import type { Dtype } from "../model/safetensors/dtypes.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./dtypes.js";

/** bytes (little-endian, any alignment) → fp32 values. */
export function toF32(bytes: Uint8Array, dtype: Dtype, what = "tensor"): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case "F32": {
      const out = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case "BF16": {
      const n = bytes.byteLength / 2;
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      return out;
    }
    case "F16": {
      const n = bytes.byteLength / 2;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true));
      return out;
    }
    case "F64": {
      const n = bytes.byteLength / 8;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    }
    case "I64": {
      const n = bytes.byteLength / 8;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(8 * i, true));
      return out;
    }
    case "I32": {
      const n = bytes.byteLength / 4;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      return out;
    }
    default:
      throw new InputError(`${what}: cannot convert ${dtype} to float32 here`);
  }
}

/** fp32 values → bytes of a float dtype (round to nearest even). */
export function fromF32(values: Float32Array, dtype: Dtype, what = "tensor"): Uint8Array {
  switch (dtype) {
    case "F32":
      return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    case "BF16":
    case "F16": {
      const out = new Uint8Array(values.length * 2);
      const dv = new DataView(out.buffer);
      const conv = dtype === "BF16" ? f32ToBf16 : f32ToF16;
      for (let i = 0; i < values.length; i++) dv.setUint16(2 * i, conv(values[i]!), true);
      return out;
    }
    default:
      throw new InputError(`${what}: cannot write float32 values as ${dtype}`);
  }
}

/** Integer tensor bytes (I64/I32) → plain numbers, e.g. token ids. */
export function toInts(bytes: Uint8Array, dtype: Dtype, what = "tensor"): Int32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "I64") return Int32Array.from({ length: bytes.byteLength / 8 }, (_, i) => Number(dv.getBigInt64(8 * i, true)));
  if (dtype === "I32") return Int32Array.from({ length: bytes.byteLength / 4 }, (_, i) => dv.getInt32(4 * i, true));
  throw new InputError(`${what}: expected I64 or I32 ids, found ${dtype}`);
}
