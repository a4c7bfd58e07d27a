// float8 codecs: OCP OFP8 E4M3FN (safetensors F8_E4M3) and E5M2 (F8_E5M2), formats.md §6.
// Encode is round-to-nearest-even from fp32, saturating by default (ONNX saturate=1); decode is a 256-entry table.

export type Float8Format = "e4m3" | "e5m2";

interface Spec {
  mbits: number;
  bias: number;
  /** Largest finite code (positive): 0x7E = 448 for E4M3FN, 0x7B = 57344 for E5M2. */
  maxCode: number;
  /** Code used for NaN (sign OR-ed in). */
  nanCode: number;
  /** Code for +Inf, or undefined when the format has none. */
  infCode: number | undefined;
}

const SPECS: Record<Float8Format, Spec> = {
  e4m3: { mbits: 3, bias: 7, maxCode: 0x7e, nanCode: 0x7f, infCode: undefined },
  e5m2: { mbits: 2, bias: 15, maxCode: 0x7b, nanCode: 0x7e, infCode: 0x7c },
};

export const FLOAT8_DTYPE: Record<Float8Format, "F8_E4M3" | "F8_E5M2"> = { e4m3: "F8_E4M3", e5m2: "F8_E5M2" };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function buildTable(fmt: Float8Format): Float32Array {
  const { mbits, bias, infCode } = SPECS[fmt];
  const ebits = 7 - mbits;
  const t = new Float32Array(256);
  for (let c = 0; c < 256; c++) {
    const s = c & 0x80 ? -1 : 1;
    const e = (c >> mbits) & ((1 << ebits) - 1);
    const m = c & ((1 << mbits) - 1);
    const mag = c & 0x7f;
    if (fmt === "e4m3" && mag === 0x7f) t[c] = NaN;
    else if (fmt === "e5m2" && e === 31) t[c] = m === 0 && infCode !== undefined ? s * Infinity : NaN;
    else if (e === 0) t[c] = s * m * 2 ** (1 - bias - mbits);
    else t[c] = s * (1 + m / (1 << mbits)) * 2 ** (e - bias);
  }
  return t;
}

const TABLES: Record<Float8Format, Float32Array> = { e4m3: buildTable("e4m3"), e5m2: buildTable("e5m2") };

/** The 256 decoded values of a format (index = code). */
export function float8Table(fmt: Float8Format): Float32Array {
  return TABLES[fmt];
}

/** Largest finite magnitude: 448 (E4M3FN) or 57344 (E5M2). */
export function float8Max(fmt: Float8Format): number {
  return TABLES[fmt][SPECS[fmt].maxCode]!;
}

export function decodeFloat8(code: number, fmt: Float8Format): number {
  return TABLES[fmt][code & 0xff]!;
}

/** fp32 value → float8 code, RNE. `saturate` (default): out-of-range and ±Inf clamp to ±max;
 *  otherwise they become NaN (E4M3FN) or ±Inf (E5M2), as torch/ml_dtypes casts do. NaN → NaN. */
export function encodeFloat8(x: number, fmt: Float8Format, saturate = true): number {
  const { mbits, bias, maxCode, nanCode, infCode } = SPECS[fmt];
  f32[0] = x;
  const u = u32[0]!;
  const sign = (u >>> 24) & 0x80;
  const a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | nanCode;
  const overflow = saturate ? sign | maxCode : infCode !== undefined ? sign | infCode : sign | nanCode;
  if (a === 0x7f800000) return overflow;
  const minNormalBits = (127 + 1 - bias) << 23;
  if (a < minNormalBits) {
    // Subnormal range of the target: code = RNE(|x| / 2^(1-bias-mbits)), exact in fp64.
    const v = f32[0]! * (sign ? -1 : 1) * 2 ** (bias - 1 + mbits);
    let r = Math.floor(v);
    const frac = v - r;
    if (frac > 0.5 || (frac === 0.5 && (r & 1) === 1)) r++;
    return sign | r; // r ≤ 2^mbits, which is the smallest normal's code
  }
  const shift = 23 - mbits;
  const rounded = a + ((1 << (shift - 1)) - 1) + ((a >>> shift) & 1);
  const code = (rounded >>> shift) - ((127 - bias) << mbits);
  return code > maxCode ? overflow : sign | code;
}

/** Bulk encode: x [n] fp32 (divided by `scale` first) → codes [n] u8. */
export function encodeFloat8Array(x: Float32Array, fmt: Float8Format, scale = 1, out = new Uint8Array(x.length), saturate = true): Uint8Array {
  const { mbits, bias, maxCode, nanCode, infCode } = SPECS[fmt];
  const tmp = new Float32Array(1);
  const bits = new Uint32Array(tmp.buffer);
  const inv = scale === 1;
  const minNormalBits = (127 + 1 - bias) << 23;
  const shift = 23 - mbits;
  const half = (1 << (shift - 1)) - 1;
  const rebias = (127 - bias) << mbits;
  const subMul = 2 ** (bias - 1 + mbits);
  for (let i = 0; i < x.length; i++) {
    tmp[0] = inv ? x[i]! : x[i]! / scale;
    const u = bits[0]!;
    const sign = (u >>> 24) & 0x80;
    const a = u & 0x7fffffff;
    let c: number;
    if (a < minNormalBits) {
      const v = Math.abs(tmp[0]!) * subMul;
      let r = Math.floor(v);
      const frac = v - r;
      if (frac > 0.5 || (frac === 0.5 && (r & 1) === 1)) r++;
      c = r;
    } else if (a > 0x7f800000) {
      c = nanCode;
    } else {
      c = (((a + half + ((a >>> shift) & 1)) >>> shift) - rebias);
      if (c > maxCode || a === 0x7f800000) c = saturate ? maxCode : infCode ?? nanCode;
    }
    out[i] = sign | c;
  }
  return out;
}

/** Bulk decode: codes [n] u8 → fp32 [n], multiplied by `scale`. */
export function decodeFloat8Array(codes: Uint8Array, fmt: Float8Format, scale = 1, out = new Float32Array(codes.length)): Float32Array {
  const t = TABLES[fmt];
  if (scale === 1) for (let i = 0; i < codes.length; i++) out[i] = t[codes[i]!]!;
  else for (let i = 0; i < codes.length; i++) out[i] = t[codes[i]!]! * scale;
  return out;
}

export function parseFloat8Format(s: string): Float8Format | undefined {
  const k = s.toLowerCase().replace(/fn$/, "");
  return k === "e4m3" || k === "e5m2" ? k : undefined;
}
