// Long OmniQuant quality run outside the CLI (same library path as `memc quantize --method omniquant`):
// runOmniQuant with a resume dir, then writes the fake-quant checkpoint (fp32 Linear weights) and the layer reports.
// Usage: node dist/bench/omniquant-run.js MODEL OUT WBITS GROUP NSAMPLES SEQLEN EPOCHS [CALIB]

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint } from "../src/model/checkpoint.js";
import { runOmniQuant } from "../src/passes/omniquant/run.js";
import { writeTransformedCheckpoint } from "../src/pipeline/write-checkpoint.js";

const [model, out, wbits, group, nsamples, seqlen, epochs, calib] = process.argv.slice(2);
if (!model || !out || !epochs) throw new Error("usage: MODEL OUT WBITS GROUP NSAMPLES SEQLEN EPOCHS [CALIB]");
const ckpt = await openCheckpoint(model);
const t0 = performance.now();
let lastLog = 0;
const res = await runOmniQuant(
  ckpt,
  { wbits: +wbits!, groupSize: +group!, sym: false, calib: calib ?? "../shared/fixtures/text/calib/english.txt", nsamples: +nsamples!, seqlen: +seqlen!, epochs: +epochs, seed: 2, lwcLr: 1e-2, stateDir: `${out}.omniquant-state` },
  (e) => {
    const now = performance.now();
    if (e.kind === "log") console.log(`[${((now - t0) / 1000).toFixed(0)}s] ${e.message}`);
    else if (now - lastLog > 30000 || e.done === e.total) { lastLog = now; console.log(`[${((now - t0) / 1000).toFixed(0)}s] ${e.task} ${e.done}/${e.total} ${e.detail ?? ""}`); }
  },
);
await mkdir(out, { recursive: true });
await writeTransformedCheckpoint(ckpt, out, (name) => {
  const w = res.weights.get(name);
  return w ? { dtype: "F32", compute: async () => w } : undefined;
});
await writeFile(join(out, "omniquant-layers.json"), JSON.stringify({ layers: res.layers, resumed: res.resumed, seconds: (performance.now() - t0) / 1000 }, null, 2) + "\n");
console.log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s → ${out}`);
