// One OmniQuant layer's quantized weights and parameter gradients with LWC, optionally on top of LET
// (OpenGVLab/OmniQuant QuantLlamaDecoderLayer.smooth_and_quant_temporary: truncate the smooth scales, transform the
// fp weights and norms, then fake-quantize every Linear with its LWC quantizer). Pure apart from the Lwc objects'
// cached forward terms; no device: the caller runs the block forward/backward wherever it lives.

import type { BlockDims, BlockGrads, BlockWeights } from "../../nn/train/block.js";
import { cloneBlock, type LinearSlot } from "./block-weights.js";
import { letBackward, letTransform, truncateLet, type LetParams } from "./let.js";
import type { Lwc } from "./lwc.js";

export interface QuantizedBlock {
  /** LET-transformed fp weights (= fp without LET) */
  tw: BlockWeights;
  /** tw with every Linear replaced by its LWC fake-quant */
  qw: BlockWeights;
}

/** Truncates p in place (as the reference does under no_grad each step), transforms, fake-quantizes. */
export function quantizeBlock(fp: BlockWeights, slots: LinearSlot[], lwcs: Lwc[], dims: BlockDims, p?: LetParams): QuantizedBlock {
  if (p) truncateLet(p);
  const tw = p ? letTransform(fp, p, dims) : fp;
  const qw = cloneBlock(tw);
  slots.forEach((s, i) => s.set(qw, lwcs[i]!.forward(s.get(tw))));
  return { tw, qw };
}

/** Block grads (w.r.t. the fake-quant weights qw; inputNorm present when the backward went to dx) → LWC grads
 *  [dγ, dβ per slot] and, with LET, the LET params' grads through Lwc.inputGrad and letBackward. */
export function layerGrads(
  g: BlockGrads, b: QuantizedBlock, fp: BlockWeights, slots: LinearSlot[], lwcs: Lwc[], dims: BlockDims, p?: LetParams,
): { lwc: (Float32Array | undefined)[]; let?: LetParams } {
  const lwc: (Float32Array | undefined)[] = [];
  const dT = p ? cloneBlock(b.tw) : undefined; // slot setters reused to hold dL/dW' per transformed Linear
  slots.forEach((s, i) => {
    const dwq = s.grad(g);
    const q = lwcs[i]!;
    if (!dwq) {
      lwc.push(undefined, undefined);
      if (dT) s.set(dT, new Float32Array(s.rows * s.cols));
      return;
    }
    const dg = new Float32Array(q.gamma.length);
    const db = new Float32Array(q.beta.length);
    q.backward(s.get(b.tw), dwq, dg, db);
    lwc.push(dg, db);
    if (dT) s.set(dT, q.inputGrad(s.get(b.tw), dwq));
  });
  if (!p || !dT) return { lwc };
  if (!g.inputNorm) throw new Error("layerGrads: LET needs the input-norm gradient (run block_backward with wantDx)");
  const grads = letBackward(fp, p, { inputNorm: g.inputNorm, postNorm: g.postNorm, q: dT.q, k: dT.k, v: dT.v, o: dT.o, gate: dT.mlp!.gate, up: dT.mlp!.up }, dims);
  return { lwc, let: grads };
}
