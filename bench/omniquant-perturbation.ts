// bench/omniquant-perturbation: how chaotic LWC training is, on the CPU oracle alone. Runs OmniQuant-LWC on llama-t
// twice — once as is, once with every embedding value scaled by (1 + 2⁻²³) (≈ one ulp) — and prints, per layer, how far
// the two runs' clip logits γ, β end apart next to how far training moved them. This is the yardstick for the
// cuda-vs-cpu comparison in test/gpu/omniquant-train.test.ts (fp32 on both, different summation orders).
// Usage: node dist/bench/omniquant-perturbation.js [MODEL=fixtures/llama-t] [CALIB=fixtures/text/english-sample.txt]

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../src/model/checkpoint.js";
import { runOmniQuant, type OmniQuantOptions } from "../src/passes/omniquant/run.js";
import { BlockCheckpoints } from "../src/pipeline/checkpoint.js";
import { writeTransformedCheckpoint } from "../src/pipeline/write-checkpoint.js";
import { silent } from "../src/util/events.js";

const model = process.argv[2] ?? "fixtures/llama-t";
const calib = process.argv[3] ?? "fixtures/text/english-sample.txt";
const tmp = mkdtempSync(join(tmpdir(), "memc-oq-perturb-"));
const ckpt = await openCheckpoint(model);
const pdir = join(tmp, "perturbed");
mkdirSync(pdir);
const EMBED = "model.embed_tokens.weight";
await writeTransformedCheckpoint(ckpt, pdir, (n) => (n === EMBED ? { dtype: "F32", compute: async () => Float32Array.from(await ckpt.weights.f32(n), (x) => Math.fround(x * (1 + 2 ** -23))) } : undefined));
for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(model, f), join(pdir, f));
const perturbed = await openCheckpoint(pdir);
const base: OmniQuantOptions = { wbits: 3, groupSize: 32, sym: false, calib, nsamples: 8, seqlen: 128, epochs: 2, seed: 2, lwcLr: 1e-2 };
await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "a") }, silent);
await runOmniQuant(perturbed, { ...base, stateDir: join(tmp, "b") }, silent);
const open = (dir: string) => BlockCheckpoints.open<unknown>(dir, JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).fingerprint as string);
const [sa, sb] = [await open(join(tmp, "a")), await open(join(tmp, "b"))];
for (let li = 0; li < ckpt.spec.layers; li++) {
  const [pa, pb] = [(await sa.load(li)).params, (await sb.load(li)).params];
  let n = 0, over = 0, maxD = 0, sumD = 0, sumMove = 0;
  for (const [k, a] of pa) {
    const b = pb.get(k)!;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      n++;
      sumD += d;
      sumMove += Math.abs(a[i]! - 4);
      if (d > 1e-3) over++;
      maxD = Math.max(maxD, d);
    }
  }
  console.log(`layer ${li}: ${n} logits, mean |Δ| ${(sumD / n).toExponential(2)}, mean movement ${(sumMove / n).toExponential(2)}, |Δ| > 1e-3: ${over} (${((100 * over) / n).toFixed(1)}%), max ${maxD.toExponential(2)}`);
}
await ckpt.weights.close();
await perturbed.weights.close();
rmSync(tmp, { recursive: true, force: true });
