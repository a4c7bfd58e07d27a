// Calibration windows (OmniQuant datautils.py get_wikitext2 / get_c4 pattern): tokenize the whole text once, then
// `random.seed(seed)` and nsamples × `i = random.randint(0, ntokens − seqlen − 1)`, window = tokens[i, i+seqlen).
// The RNG is CPython's MT19937 (init_by_array, getrandbits, _randbelow), so seed 2 picks the reference's windows.
// Several files (`--calib a.txt,b.txt`) follow its `mix` loader: nsamples // k windows from each, same seed each.

import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { loadTokenizer } from "../model/tokenizer.js";
import { InputError } from "../util/errors.js";

/** CPython's random.Random for integer seeds (only what randint needs). */
export class PyRandom {
  private readonly mt = new Uint32Array(624);
  private idx = 625;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InputError(`seed ${seed}: must be an integer in [0, 2^32)`);
    this.initByArray([seed]);
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < 624; i++) mt[i] = (Math.imul(1812433253, mt[i - 1]! ^ (mt[i - 1]! >>> 30)) + i) >>> 0;
    this.idx = 624;
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      mt[i] = ((mt[i]! ^ Math.imul(mt[i - 1]! ^ (mt[i - 1]! >>> 30), 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= 624) { mt[0] = mt[623]!; i = 1; }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      mt[i] = ((mt[i]! ^ Math.imul(mt[i - 1]! ^ (mt[i - 1]! >>> 30), 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) { mt[0] = mt[623]!; i = 1; }
    }
    mt[0] = 0x80000000;
  }

  uint32(): number {
    const mt = this.mt;
    if (this.idx >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % 624]! & 0x7fffffff);
        mt[k] = (mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)) >>> 0;
      }
      this.idx = 0;
    }
    let y = mt[this.idx++]!;
    y ^= y >>> 11;
    y = (y ^ ((y << 7) & 0x9d2c5680)) >>> 0;
    y = (y ^ ((y << 15) & 0xefc60000)) >>> 0;
    return (y ^ (y >>> 18)) >>> 0;
  }

  /** random.randint(a, b), inclusive, for b − a < 2^31 */
  randint(a: number, b: number): number {
    const n = b - a + 1;
    if (n <= 0 || n > 0x80000000) throw new Error(`randint(${a}, ${b}): empty or too wide range`);
    const k = Math.ceil(Math.log2(n + 1)); // n.bit_length()
    let r: number;
    do r = this.uint32() >>> (32 - k);
    while (r >= n);
    return a + r;
  }
}

/** tokens: [n] → nsamples windows of seqlen tokens */
export function calibrationWindows(tokens: Int32Array, nsamples: number, seqlen: number, seed: number, what = "calibration text"): Int32Array[] {
  if (tokens.length < seqlen + 1) throw new InputError(`${what}: ${tokens.length} tokens, need more than --seqlen ${seqlen}`);
  const rng = new PyRandom(seed);
  const out: Int32Array[] = [];
  for (let s = 0; s < nsamples; s++) {
    const i = rng.randint(0, tokens.length - seqlen - 1);
    out.push(tokens.slice(i, i + seqlen));
  }
  return out;
}

/** The files of a `--calib` value: one path, or several separated by commas (the reference's `mix` calibration). */
export function calibrationFiles(calib: string): string[] {
  return calib.split(",").map((f) => f.trim()).filter((f) => f.length > 0);
}

/** Reads and tokenizes each calibration file with the model's tokenizer.json, then cuts the windows. Several files
 *  are the reference's `mix` loader (datautils.py get_loaders("mix")): nsamples // k windows from each file, each
 *  file drawn with the same seed, concatenated in file order (128 over 3 files → 3 × 42 = 126 windows). */
export async function loadCalibration(modelDir: string, calib: string, nsamples: number, seqlen: number, seed: number): Promise<Int32Array[]> {
  const files = calibrationFiles(calib);
  if (files.length === 0) throw new InputError(`--calib ${JSON.stringify(calib)}: no file named`);
  for (const file of files) if (!existsSync(file)) throw new InputError(`--calib ${file}: no such file`);
  if (!Number.isInteger(nsamples) || nsamples < 1) throw new InputError(`--nsamples ${nsamples}: must be a positive integer`);
  if (!Number.isInteger(seqlen) || seqlen < 2) throw new InputError(`--seqlen ${seqlen}: must be an integer ≥ 2`);
  const perFile = files.length === 1 ? nsamples : Math.floor(nsamples / files.length);
  if (perFile < 1) throw new InputError(`--nsamples ${nsamples}: fewer than one window for each of the ${files.length} --calib files`);
  const tok = await loadTokenizer(modelDir);
  const windows: Int32Array[] = [];
  for (const file of files) windows.push(...calibrationWindows(tok.encode(await readFile(file, "utf8")), perFile, seqlen, seed, file));
  return windows;
}
