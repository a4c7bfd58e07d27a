// bench/omniquant-perturbation: how chaotic LWC training is, on the CPU oracle alone. Runs OmniQuant-LWC on llama-t
// twice — once as is, once with every embedding value scaled by (1 + 2⁻²³) (≈ one ulp) — and prints, per layer, how far
// the two runs' clip logits γ, β end apart next to how far training moved them. This is the yardstick for the
// cuda-vs-cpu comparison in test/gpu/omniquant-train.test.ts (fp32 on both, different summation orders).
// With --w4a4: the weight-activation setting of test/gpu/omniquant-let.test.ts (W4 per-channel, A4, LET; 8 × 128
// windows, 2 epochs) instead of W3 g32 LWC, and also the LET scales' mean |Δ| and both runs' ppl (16 × 256 windows,
// activation quantizers on) — the yardstick for that test's cuda-vs-cpu bounds.
// --w4a4 --no-let: the same without LET (LWC + A4).
// Usage: node dist/bench/omniquant-perturbation.js [--w4a4 [--no-let]] [MODEL=fixtures/llama-t] [CALIB=fixtures/text/english-sample.txt]

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "../src/model/checkpoint.js";
import { runOmniQuant, type OmniQuantOptions } from "../src/passes/omniquant/run.js";
import { BlockCheckpoints } from "../src/pipeline/checkpoint.js";
import { writeTransformedCheckpoint } from "../src/pipeline/write-checkpoint.js";
import { silent } from "../src/util/events.js";
import { ACT_QUANT_KEY, actQuantConfig } from "../src/model/act-quant-config.js";
import { evaluateModel } from "../src/eval/evaluate.js";

const args = process.argv.slice(2);
const w4a4 = args[0] === "--w4a4";
if (w4a4) args.shift();
const noLet = args[0] === "--no-let";
if (noLet) args.shift();
const model = args[0] ?? "fixtures/llama-t";
const calib = args[1] ?? "fixtures/text/english-sample.txt";
const tmp = mkdtempSync(join(tmpdir(), "memc-oq-perturb-"));
const ckpt = await openCheckpoint(model);
const pdir = join(tmp, "perturbed");
mkdirSync(pdir);
const EMBED = "model.embed_tokens.weight";
await writeTransformedCheckpoint(ckpt, pdir, (n) => (n === EMBED ? { dtype: "F32", compute: async () => Float32Array.from(await ckpt.weights.f32(n), (x) => Math.fround(x * (1 + 2 ** -23))) } : undefined));
for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(model, f), join(pdir, f));
const perturbed = await openCheckpoint(pdir);
const base: OmniQuantOptions = w4a4
  ? { wbits: 4, groupSize: -1, sym: false, calib, nsamples: 8, seqlen: 128, epochs: 2, seed: 2, lwcLr: 1e-2, abits: 4, let: !noLet }
  : { wbits: 3, groupSize: 32, sym: false, calib, nsamples: 8, seqlen: 128, epochs: 2, seed: 2, lwcLr: 1e-2 };
const ra = await runOmniQuant(ckpt, { ...base, stateDir: join(tmp, "a") }, silent);
const rb = await runOmniQuant(perturbed, { ...base, stateDir: join(tmp, "b") }, silent);
if (w4a4) {
  const rawConfig = { ...ckpt.rawConfig, [ACT_QUANT_KEY]: actQuantConfig(4) };
  const ppl: number[] = [];
  for (const [tag, res] of [["pa", ra], ["pb", rb]] as const) {
    const dir = join(tmp, tag);
    mkdirSync(dir);
    // the same fp model around both runs' trained tensors: only the training differs
    await writeTransformedCheckpoint(ckpt, dir, (nm) => (res.weights.has(nm) ? { dtype: "F32", compute: async () => res.weights.get(nm)! } : undefined), { rawConfig });
    const [r] = await evaluateModel(dir, [calib], { seqlen: 256, device: "cpu", maxWindows: 16 }, silent);
    ppl.push(r!.ppl);
  }
  console.log(`ppl (16 × 256, A4): as is ${ppl[0]!.toFixed(4)}, perturbed ${ppl[1]!.toFixed(4)} (${((100 * Math.abs(ppl[0]! - ppl[1]!)) / ppl[0]!).toFixed(2)} %)`);
}
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
      sumMove += Math.abs(a[i]! - (k.startsWith("let.") ? 0 : 4)); // LET: |s| (its init is data-dependent)
      if (d > 1e-3) over++;
      maxD = Math.max(maxD, d);
    }
  }
  console.log(`layer ${li}: ${n} logits, mean |Δ| ${(sumD / n).toExponential(2)}, mean movement ${(sumMove / n).toExponential(2)}, |Δ| > 1e-3: ${over} (${((100 * over) / n).toFixed(1)}%), max ${maxD.toExponential(2)}`);
}
await ckpt.weights.close();
await perturbed.weights.close();
rmSync(tmp, { recursive: true, force: true });
