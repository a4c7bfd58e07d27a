// bench/omniquant-quality: the issue-6 quality table for one model on the GPU machine. For W4 g128, W3 g128 (20 epochs)
// and W2 g64 (40 epochs, without and with --aug-loss, the reference's 2-bit script) it runs RTN (`memc quantize --method rtn`) and
//   memc quantize MODEL -o OUT --method omniquant --device cuda --calib calib/english.txt --nsamples 128 --seqlen 512
// (seed 2, lr 1e-2, asymmetric, as the reference scripts; w4mix / w3mix: --calib english,code,math = the reference's `mix`), then `memc eval --device cuda --seqlen 512` of the fp model
// and each output on english/code/math held-out text, and prints a markdown table + JSON.
// W4A4 (llama family only; the reference's Mixtral path is LWC only): the reference's W4A4 script group (per-channel
// weights, i.e. no --group_size, 20 epochs, --lwc --let, per-token A4) → `--wbits 4 --group-size -1 --abits 4 --let`
// (memc's let_lr 5e-3 / α 0.5 defaults; `w4a4ref` adds the script's --let-lr 1e-3 --alpha 0.75), and its RTN baseline
// `--method rtn --wbits 4 --group-size -1 --abits 4` (eval applies the A4 quantizers from config.json for both).
// Usage: node dist/bench/omniquant-quality.js MODEL_DIR [--shared DIR] [--out DIR] [--only w4,w3,w2,w2aug,w4mix,w3mix,w4a4,w4a4ref] [--epochs-scale 0.5]
//        [--gemm fp32|tf32|bf16] [--group N (smoke tests only)] [--json FILE]. Resume state lives beside each output, so a rerun continues.

import { execa } from "execa";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const argv = process.argv.slice(2);
const arg = (k: string) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : undefined; };
const model = argv[0];
if (!model || model.startsWith("--")) {
  console.error("usage: node dist/bench/omniquant-quality.js MODEL_DIR [--shared DIR] [--out DIR] [--only w4,w3,w2] [--gemm fp32] [--json FILE]");
  process.exit(2);
}
const shared = arg("--shared") ?? process.env.MEMC_SHARED ?? "../shared";
const outDir = arg("--out") ?? join("/tmp", `memc-oq-quality-${basename(resolve(model))}`);
const only = new Set((arg("--only") ?? "w4,w3,w2,w4a4").split(","));
const moe = /mixtral|moe/i.test(String((JSON.parse(readFileSync(join(model, "config.json"), "utf8")) as { model_type?: string }).model_type));
const epochsScale = Number(arg("--epochs-scale") ?? 1);
const gemm = arg("--gemm") ?? "fp32";
/** smoke runs on models whose widths 128/64 do not divide (llama-t: 352): one group size for every setting */
const groupOverride = arg("--group") === undefined ? undefined : Number(arg("--group"));
const cli = fileURLToPath(new URL("../../bin/memc.js", import.meta.url));
const calib = join(shared, "fixtures/text/calib/english.txt");
const calibMix = ["english", "code", "math"].map((t) => join(shared, `fixtures/text/calib/${t}.txt`)).join(",");
const texts = ["english", "code", "math"].map((t) => [t, join(shared, `fixtures/text/eval/${t}-heldout.txt`)] as const);
interface Setting { key: string; label: string; wbits: number; group: number; epochs: number; abits?: number; let?: boolean; aug?: boolean; letLr?: number; alpha?: number; mix?: boolean }
const SETTINGS: Setting[] = ([
  { key: "w4", label: "W4A16 g128", wbits: 4, group: 128, epochs: 20 },
  { key: "w3", label: "W3A16 g128", wbits: 3, group: 128, epochs: 20 },
  { key: "w2", label: "W2A16 g64", wbits: 2, group: 64, epochs: 40 },
  // the reference's 2-bit script: 40 epochs + --aug_loss
  { key: "w2aug", label: "W2A16 g64, aug loss", wbits: 2, group: 64, epochs: 40, aug: true },
  { key: "w4a4", label: "W4A4 per-channel, LET", wbits: 4, group: -1, epochs: 20, abits: 4, let: true },
  // the reference's `mix` calibration (datautils.py) over memc's three calibration texts: 42 windows of each
  { key: "w4mix", label: "W4A16 g128, calib mix", wbits: 4, group: 128, epochs: 20, mix: true },
  { key: "w3mix", label: "W3A16 g128, calib mix", wbits: 3, group: 128, epochs: 20, mix: true },
  // the W4A4 script's LET settings (algorithms.md §1.1: let_lr 1e-3, alpha 0.75)
  { key: "w4a4ref", label: "W4A4 per-channel, LET let_lr 1e-3 α 0.75", wbits: 4, group: -1, epochs: 20, abits: 4, let: true, letLr: 1e-3, alpha: 0.75 },
] as Setting[]).filter((s) => only.has(s.key) && !(moe && s.abits))
  // per-channel (-1) divides every width: the smoke override applies to grouped settings only
  .map((s) => (groupOverride === undefined || s.group === -1 ? s : { ...s, group: groupOverride, label: s.label.replace(/g\d+/, `g${groupOverride}`) }));
const actArgs = (s: Setting) => [...(s.abits ? ["--abits", `${s.abits}`] : []), ...(s.let ? ["--let"] : []), ...(s.aug ? ["--aug-loss"] : []),
  ...(s.letLr !== undefined ? ["--let-lr", `${s.letLr}`] : []), ...(s.alpha !== undefined ? ["--alpha", `${s.alpha}`] : [])];

mkdirSync(outDir, { recursive: true });

async function evaluate(dir: string): Promise<Record<string, number>> {
  const r = await execa("node", [cli, "eval", dir, "--device", "cuda", "--seqlen", "512", "--json", "--ppl", ...texts.map(([, f]) => f)], { stderr: "inherit" });
  const j = JSON.parse(r.stdout) as { results?: { file: string; ppl: number }[]; file?: string; ppl?: number };
  const rows = j.results ?? [{ file: j.file!, ppl: j.ppl! }];
  return Object.fromEntries(texts.map(([t, f]) => [t, rows.find((x) => resolve(x.file) === resolve(f) || x.file.endsWith(basename(f)))!.ppl]));
}

const result: Record<string, { ppl: Record<string, number>; seconds?: number; details?: unknown }> = {};
const t0 = performance.now();
result.fp = { ppl: await evaluate(model) };
console.error(`fp: ${JSON.stringify(result.fp.ppl)}`);
const rtnPpl = new Map<string, Record<string, number>>();
for (const s of SETTINGS) {
  const out = join(outDir, `${s.key}`);
  const epochs = Math.max(1, Math.round(s.epochs * epochsScale));
  const t = performance.now();
  if (!existsSync(join(out, "memc.report.json"))) {
    const q = await execa("node", [cli, "quantize", model, "-o", out, "--method", "omniquant", "--device", "cuda", "--gemm", gemm, "--wbits", `${s.wbits}`, "--group-size", `${s.group}`,
      "--calib", s.mix ? calibMix : calib, "--nsamples", "128", "--seqlen", "512", "--epochs", `${epochs}`, ...actArgs(s), "--overwrite", "--json"], { stderr: "inherit" });
    writeFileSync(join(outDir, `${s.key}.quantize.json`), q.stdout);
  }
  const ppl = await evaluate(out);
  result[s.key] = { ppl, seconds: (performance.now() - t) / 1000 };
  console.error(`${s.label} (${epochs} epochs): ${JSON.stringify(ppl)} in ${result[s.key]!.seconds!.toFixed(0)} s`);
  // the RTN baseline at the same setting (memc quantize --method rtn, as fixtures/reference.json's RTN rows)
  // (one per distinct setting: w2 and w2aug share theirs)
  const rtnOut = join(outDir, `rtn-w${s.wbits}-g${s.group}${s.abits ? `-a${s.abits}` : ""}`);
  if (!existsSync(join(rtnOut, "memc.report.json"))) {
    await execa("node", [cli, "quantize", model, "-o", rtnOut, "--method", "rtn", "--wbits", `${s.wbits}`, "--group-size", `${s.group}`, ...(s.abits ? ["--abits", `${s.abits}`] : []), "--overwrite", "--json"], { stderr: "inherit" });
  }
  if (!rtnPpl.has(rtnOut)) rtnPpl.set(rtnOut, await evaluate(rtnOut));
  result[`${s.key}-rtn`] = { ppl: rtnPpl.get(rtnOut)! };
}

console.log(`\n${basename(resolve(model))}: held-out ppl, seqlen 512 (calibration: 128 × 512 of calib/english.txt, seed 2; GEMMs ${gemm})`);
console.log(`| setting | ${texts.map(([t]) => t).join(" | ")} |`);
console.log(`|---|${texts.map(() => "---").join("|")}|`);
console.log(`| fp | ${texts.map(([t]) => result.fp!.ppl[t]!.toFixed(2)).join(" | ")} |`);
for (const s of SETTINGS) {
  console.log(`| RTN ${s.label.replace(/, (LET|calib).*/, "")} | ${texts.map(([t]) => result[`${s.key}-rtn`]!.ppl[t]!.toFixed(2)).join(" | ")} |`);
  console.log(`| OmniQuant ${s.label} (${Math.max(1, Math.round(s.epochs * epochsScale))} epochs) | ${texts.map(([t]) => result[s.key]!.ppl[t]!.toFixed(2)).join(" | ")} |`);
}
console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const json = arg("--json");
const payload = JSON.stringify({ model: resolve(model), gemm, settings: SETTINGS, result }, null, 2);
if (json) writeFileSync(json, payload);
console.log(payload);
