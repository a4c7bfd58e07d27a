// Reproduces ../shared/fixtures/reference.json through the library (same code path as `memc eval` / RTN):
// prints memc vs transformers for every requested model × variant × text, with the relative difference.
// Run: npm run build && node dist/bench/reproduce.js [--models llama-t,moe-t] [--texts english-heldout.txt] [--variants fp,rtn_w4g32]

import { readFileSync } from "node:fs";
import { openCheckpoint, type Checkpoint } from "../src/model/checkpoint.js";
import { loadTokenizer } from "../src/model/tokenizer.js";
import { quantizableLinears, linearKind } from "../src/model/names.js";
import { CpuOps } from "../src/runtime/cpu/ops.js";
import { perplexity } from "../src/eval/perplexity.js";
import { universalNewlines } from "../src/eval/text.js";
import { dequantizeGroups, quantizeGroups } from "../src/passes/rtn/quantize.js";
import { fromF32, toF32 } from "../src/runtime/convert.js";
import type { WeightSource } from "../src/nn/layer-weights.js";

const shared = process.env.MEMC_SHARED ?? "../shared";
const ref = JSON.parse(readFileSync(`${shared}/fixtures/reference.json`, "utf8"));
const list = (k: string, d: string[]) => {
  const i = process.argv.indexOf(k);
  return i > 0 ? process.argv[i + 1]!.split(",") : d;
};
const models = list("--models", ["llama-t", "moe-t", "llama-s", "moe-s"]);
const texts = list("--texts", ["english-heldout.txt", "code-heldout.txt", "math-heldout.txt", "wikitext2-test.txt"]);
const variantsArg = list("--variants", []);

/** RTN as `memc quantize` writes it (bf16 fake-quant); MoE reference rows leave experts unquantized. */
async function rtnSource(ck: Checkpoint, bits: number, group: number, moe: boolean): Promise<WeightSource> {
  const over = new Map<string, Float32Array>();
  for (let i = 0; i < ck.spec.layers; i++) {
    for (const m of quantizableLinears(ck.spec, i)) {
      if (moe && linearKind(m) === "experts") continue;
      const name = `${m}.weight`;
      const [r, c] = ck.weights.info(name).shape as [number, number];
      const dq = dequantizeGroups(quantizeGroups(await ck.weights.f32(name), r, c, { bits, groupSize: group, sym: false }));
      over.set(name, toF32(fromF32(dq, "BF16"), "BF16"));
    }
  }
  return { has: (n) => ck.weights.has(n), f32: async (n, s) => over.get(n) ?? ck.weights.f32(n, s) };
}

const ops = new CpuOps();
console.log("model    variant          text                  reference     memc      diff   tok/s");
for (const model of models) {
  const dir = `${shared}/fixtures/models/${model}`;
  const ck = await openCheckpoint(dir);
  const tok = await loadTokenizer(dir);
  const variants = variantsArg.length ? variantsArg : [...new Set(Object.keys(ref[model]).filter((k) => k.includes("|")).map((k) => k.split("|")[0]!))].filter((v) => v === "fp" || v.startsWith("rtn_"));
  for (const variant of variants) {
    const m = /^rtn_w(\d)g(\d+)$/.exec(variant);
    const src: WeightSource = m ? await rtnSource(ck, Number(m[1]), Number(m[2]), ck.spec.moe !== undefined) : ck.weights;
    for (const text of texts) {
      const want = ref[model][`${variant}|${text}`];
      if (want === undefined) continue;
      const ids = tok.encode(universalNewlines(readFileSync(`${shared}/fixtures/text/eval/${text}`, "utf8")));
      const r = await perplexity(ops, ck.spec, src, ids, { seqlen: 512 }, () => {});
      const diff = (100 * (r.ppl - want)) / want;
      console.log(`${model.padEnd(8)} ${variant.padEnd(16)} ${text.padEnd(21)} ${want.toFixed(4).padStart(10)} ${r.ppl.toFixed(4).padStart(10)} ${diff.toFixed(3).padStart(7)}% ${r.tokensPerSecond.toFixed(0).padStart(7)}`);
    }
  }
  await ck.weights.close();
}
await ops.dispose();
