// Per-token dynamic asymmetric activation fake-quant, the runtime (eval) side of OmniQuant's act quantizer
// (quantize/quantizer.py UniformAffineQuantizer, dynamic_method "per_token", no LWC). Same fp32 arithmetic as the
// training op src/nn/train/act-quant.ts (which also keeps the backward's terms); kernels/act_quant.cu mirrors it.

import { roundHalfEven } from "../../../passes/rtn/quantize.js";

const fr = Math.fround;

/** x: rows of rowLen contiguous values → fake-quantized copy */
export function actQuantRows(x: Float32Array, rowLen: number, bits: number): Float32Array {
  const qmax = 2 ** bits - 1;
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += rowLen) {
    let mx = -Infinity;
    let mn = Infinity;
    for (let i = o; i < o + rowLen; i++) {
      const v = x[i]!;
      if (v > mx) mx = v;
      if (v < mn) mn = v;
    }
    const h = fr(Math.min(Math.max(fr(fr(mx - mn) / qmax), fr(1e-5)), fr(1e4)));
    const z = Math.min(Math.max(roundHalfEven(fr(-mn / h)), -1e4), 1e4);
    for (let i = o; i < o + rowLen; i++) {
      const q = Math.min(Math.max(roundHalfEven(fr(x[i]! / h)) + z, 0), qmax);
      out[i] = fr((q - z) * h);
    }
  }
  return out;
}
