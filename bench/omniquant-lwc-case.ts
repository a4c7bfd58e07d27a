// Writes an LWC test case (W, γ, β, upstream dŴ) with memc's Ŵ and dγ, dβ to JSON, for bench/omniquant_lwc_torch.py
// to recompute with torch autograd on code that mirrors OmniQuant quantize/quantizer.py (an independent oracle).
// Usage: node dist/bench/omniquant-lwc-case.js OUT.json

import { writeFileSync } from "node:fs";
import { Lwc } from "../src/passes/omniquant/lwc.js";
import { rng } from "../test/helpers/random.js";

const r = rng(5);
const rows = 24, cols = 128;
const cases = [];
for (const [bits, group, sym] of [[2, 64, false], [3, 32, false], [4, 128, false], [3, 32, true], [4, 64, true]] as [number, number, boolean][]) {
  const lwc = new Lwc("case", rows, cols, { bits, groupSize: group, sym });
  for (let k = 0; k < lwc.gamma.length; k++) { lwc.gamma[k] = 4 * r() + 1; lwc.beta[k] = 4 * r() + 1; }
  const w = Float32Array.from({ length: rows * cols }, () => r() * 0.1 + (r() > 0.45 ? 0.02 : 0));
  const up = Float32Array.from({ length: rows * cols }, () => r());
  const wq = lwc.forward(w);
  const dg = new Float32Array(lwc.gamma.length), db = new Float32Array(lwc.beta.length);
  lwc.backward(w, up, dg, db);
  cases.push({ bits, group, sym, rows, cols, w: [...w], gamma: [...lwc.gamma], beta: [...lwc.beta], up: [...up], wq: [...wq], dgamma: [...dg], dbeta: [...db] });
}
writeFileSync(process.argv[2] ?? "omniquant-lwc-case.json", JSON.stringify(cases));
