// Dense little-endian bit packing of b-bit codes into int32 words, low bits first — the scheme GPTQ
// (formats.md §2.2) and compressed-tensors `pack_to_int32` (§3.2) share. b must divide 32 (2, 4, 8).

import { InputError } from "../../util/errors.js";

function perWord(bits: number): number {
  if (bits !== 2 && bits !== 4 && bits !== 8) throw new InputError(`bit packing: ${bits}-bit codes are not supported (use 2, 4 or 8)`);
  return 32 / bits;
}

/** Packs along the last dim. codes [rows, cols] (0..2^b−1) → words [rows, ceil(cols/(32/b))];
 *  element c of a row lands in word ⌊c/(32/b)⌋ at bit (c mod (32/b))·b. Padding is 0. */
export function packRows(codes: ArrayLike<number>, rows: number, cols: number, bits: number): Int32Array {
  const pf = perWord(bits);
  const wc = Math.ceil(cols / pf);
  const out = new Uint32Array(rows * wc);
  const mask = (1 << bits) - 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = codes[r * cols + c]!;
      if (v < 0 || v > mask || !Number.isInteger(v)) throw new InputError(`bit packing: code ${v} at [${r}, ${c}] does not fit in ${bits} bits`);
      out[r * wc + Math.floor(c / pf)]! |= v << ((c % pf) * bits);
    }
  }
  return new Int32Array(out.buffer);
}

/** Inverse of packRows: words [rows, ceil(cols/(32/b))] → codes [rows, cols]. */
export function unpackRows(words: Int32Array, rows: number, cols: number, bits: number): Uint8Array {
  const pf = perWord(bits);
  const wc = Math.ceil(cols / pf);
  if (words.length !== rows * wc) throw new InputError(`bit unpacking: expected ${rows}×${wc} words, found ${words.length}`);
  const out = new Uint8Array(rows * cols);
  const mask = (1 << bits) - 1;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = (words[r * wc + Math.floor(c / pf)]! >>> ((c % pf) * bits)) & mask;
  return out;
}

/** Packs along dim 0. codes [rows, cols] → words [ceil(rows/(32/b)), cols]; row r lands at bit (r mod (32/b))·b. */
export function packCols(codes: ArrayLike<number>, rows: number, cols: number, bits: number): Int32Array {
  return transposeI32(packRows(transpose(codes, rows, cols), cols, rows, bits), cols, Math.ceil(rows / perWord(bits)));
}

/** Inverse of packCols: words [ceil(rows/(32/b)), cols] → codes [rows, cols]. */
export function unpackCols(words: Int32Array, rows: number, cols: number, bits: number): Uint8Array {
  const wr = Math.ceil(rows / perWord(bits));
  return transpose(unpackRows(transposeI32(words, wr, cols), cols, rows, bits), cols, rows);
}

/** codes a [rows, cols] (0..255) → [cols, rows]. */
export function transpose(a: ArrayLike<number>, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = a[r * cols + c]!;
      if (v < 0 || v > 255 || !Number.isInteger(v)) throw new InputError(`bit packing: code ${v} at [${r}, ${c}] is not an unsigned byte`);
      out[c * rows + r] = v;
    }
  }
  return out;
}

function transposeI32(a: Int32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}
