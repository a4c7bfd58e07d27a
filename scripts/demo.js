#!/usr/bin/env node
// `npm run demo`: quantize the bundled tiny models with RTN through the real CLI, evaluate before and after,
// print a table. Uses only what a fresh clone has (fixtures/), no ../shared and no GPU.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const memc = (...args) => execFileSync(process.execPath, ["bin/memc.js", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
const text = "fixtures/text/english-sample.txt";
const work = mkdtempSync(join(tmpdir(), "memc-demo-"));
const rows = [];
try {
  for (const [model, settings] of [
    ["fixtures/llama-t", [[4, 32], [3, 32], [2, 32]]],
    ["fixtures/moe-t", [[4, 128], [3, 128], [2, 64]]],
  ]) {
    console.log(`\n== ${model}`);
    process.stdout.write(memc("inspect", model).split("\n").slice(0, 2).join("\n") + "\n");
    const base = JSON.parse(memc("eval", model, "--ppl", text, "--seqlen", "512", "--json"));
    rows.push({ model, variant: "fp (bf16)", ppl: base.ppl, bytes: null, base: base.ppl, fp: base.fingerprint });
    for (const [bits, group] of settings) {
      const out = join(work, `${model.split("/").pop()}-w${bits}g${group}`);
      const report = JSON.parse(memc("quantize", model, "-o", out, "--method", "rtn", "--wbits", String(bits), "--group-size", String(group), "--json"));
      const q = JSON.parse(memc("eval", out, "--ppl", text, "--seqlen", "512", "--json"));
      rows.push({ model, variant: `rtn w${bits} g${group}`, ppl: q.ppl, base: base.ppl, seconds: report.passes[0].seconds });
    }
  }
  const f = rows[0].fp;
  console.log(`\nperplexity on ${text} (${f.tokens} tokens, ${f.windows} windows of ${f.seqlen}, sha256 ${f.textSha256}, ${f.dtype} ${f.device})\n`);
  console.log("model              variant          ppl      vs fp");
  for (const r of rows) {
    const d = r.ppl === r.base ? "" : `${((100 * (r.ppl - r.base)) / r.base).toFixed(2).padStart(7)}%`;
    console.log(`${r.model.padEnd(18)} ${r.variant.padEnd(14)} ${r.ppl.toFixed(3).padStart(8)}  ${d}`);
  }
  console.log("\n(fake-quant checkpoints: dequantized weights in the source dtype; packed formats come from `memc export`.)");
} finally {
  rmSync(work, { recursive: true, force: true });
}
