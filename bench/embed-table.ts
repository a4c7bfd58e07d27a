// bench/embed-table: the docs/embed.md results. For each fixture model and each embed config: bytes ratio,
// retrieval agreement of its embedding table used as a vector store, and perplexity with embed_tokens + lm_head
// (and embed only) replaced by their compressed reconstructions; optional .npy vector stores (e.g. hidden states).
// Usage: node dist/bench/embed-table.js [--models llama-s,moe-s] [--windows 8] [--npy FILE...] [--json OUT]

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { openCheckpoint } from "../src/model/checkpoint.js";
import { EMBED, LM_HEAD } from "../src/model/names.js";
import { loadTokenizer } from "../src/model/tokenizer.js";
import { CpuOps } from "../src/runtime/cpu/ops.js";
import { perplexity } from "../src/eval/perplexity.js";
import { silent } from "../src/util/events.js";
import { compressMatrix, reconstructMatrix, storedBytes, type EmbedParams } from "../src/passes/embed/codec.js";
import { embedVectors } from "../src/passes/embed/vectors.js";
import type { WeightSource } from "../src/nn/layer-weights.js";

const argv = process.argv.slice(2);
const opt = (n: string, d: string) => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1]! : d);
const many = (n: string) => { const i = argv.indexOf(`--${n}`); if (i < 0) return []; const out: string[] = []; for (let j = i + 1; j < argv.length && !argv[j]!.startsWith("--"); j++) out.push(argv[j]!); return out; };
const FIX = resolve(opt("fixtures", "../shared/fixtures"));
const MODELS = opt("models", "llama-s,moe-s").split(",").filter(Boolean);
const WINDOWS = Number(opt("windows", "8"));
const TEXTS = ["english-heldout.txt", "code-heldout.txt", "math-heldout.txt"];

type Cfg = { name: string; p: Omit<EmbedParams, "plainDtype">; embedOnly?: boolean };
const CONFIGS: Cfg[] = [
  { name: "e4m3", p: { float8: "e4m3", scale: "none" } },
  { name: "e5m2", p: { float8: "e5m2", scale: "none" } },
  { name: "e4m3 row-scale", p: { float8: "e4m3", scale: "row" } },
  { name: "PCA 0.75", p: { float8: "none", pca: 0.75, scale: "none" } },
  { name: "PCA 0.5", p: { float8: "none", pca: 0.5, scale: "none" } },
  { name: "PCA 0.25", p: { float8: "none", pca: 0.25, scale: "none" } },
  { name: "PCA 0.75 + e4m3", p: { float8: "e4m3", pca: 0.75, scale: "none" } },
  { name: "PCA 0.5 + e4m3", p: { float8: "e4m3", pca: 0.5, scale: "none" } },
  { name: "PCA 0.25 + e4m3", p: { float8: "e4m3", pca: 0.25, scale: "none" } },
  { name: "e4m3 (embed only)", p: { float8: "e4m3", scale: "none" }, embedOnly: true },
  { name: "PCA 0.5 + e4m3 (embed only)", p: { float8: "e4m3", pca: 0.5, scale: "none" }, embedOnly: true },
  { name: "PCA 0.25 + e4m3 (embed only)", p: { float8: "e4m3", pca: 0.25, scale: "none" }, embedOnly: true },
];

const results: Record<string, unknown>[] = [];
const tmp = mkdtempSync(join(tmpdir(), "memc-embed-bench-"));

async function retrieval(input: string, tensor: string | undefined, label: string): Promise<void> {
  for (const c of CONFIGS.filter((c) => !c.embedOnly)) {
    const r = await embedVectors(input, join(tmp, "v"), { params: c.p, tensor, k: 10, seed: 0, force: true }, silent);
    const row = { kind: "retrieval", store: label, config: c.name, rows: r.vectors.rows, dim: r.vectors.dim, k: r.k, ratioVsFp32: r.bytes.ratioVsFp32, ratioVsSource: r.bytes.ratio,
      recall: r.retrieval.stored.recall, ndcg: r.retrieval.stored.ndcg, recallRecon: r.retrieval.reconstructed?.recall, ndcgRecon: r.retrieval.reconstructed?.ndcg, relMse: r.error.relativeMse, explained: r.explainedVariance };
    results.push(row);
    console.log(JSON.stringify(row));
  }
}

async function model(name: string): Promise<void> {
  const dir = join(FIX, "models", name);
  await retrieval(join(dir, "model.safetensors"), EMBED, `${name} embed_tokens`);
  const ck = await openCheckpoint(dir);
  const tok = await loadTokenizer(dir);
  const ops = new CpuOps();
  const tokens = await Promise.all(TEXTS.map(async (t) => tok.encode(await readFile(join(FIX, "text", "eval", t), "utf8")).subarray(0, WINDOWS * 512)));
  const tables = new Map<string, Float32Array>([[EMBED, await ck.weights.f32(EMBED)], [LM_HEAD, await ck.weights.f32(LM_HEAD)]]);
  const [V, D] = [ck.spec.vocab, ck.spec.hidden];
  const ppl = async (over: Map<string, Float32Array>) => {
    const src: WeightSource = { has: (n) => over.has(n) || ck.weights.has(n), f32: async (n, s) => over.get(n) ?? ck.weights.f32(n, s) };
    const out: number[] = [];
    for (const t of tokens) out.push((await perplexity(ops, ck.spec, src, t, { seqlen: 512 }, silent)).ppl);
    return out;
  };
  const base = await ppl(new Map());
  results.push({ kind: "ppl", model: name, config: "bf16 (baseline)", ppl: base, windows: WINDOWS });
  console.log(name, "baseline", base);
  for (const c of CONFIGS) {
    const over = new Map<string, Float32Array>();
    let before = 0, after = 0;
    for (const n of c.embedOnly ? [EMBED] : [EMBED, LM_HEAD]) {
      const cm = await compressMatrix(tables.get(n)!, V, D, { ...c.p, plainDtype: "BF16" });
      over.set(n, await reconstructMatrix(cm));
      before += V * D * 2;
      after += storedBytes(cm).total;
    }
    const p = await ppl(over);
    const row = { kind: "ppl", model: name, config: c.name, ratioVsBf16: before / after, ppl: p, delta: p.map((v, i) => v / base[i]! - 1), windows: WINDOWS };
    results.push(row);
    console.log(JSON.stringify(row));
  }
  await ops.dispose();
  await ck.weights.close();
}

try {
  for (const f of many("npy")) await retrieval(f, undefined, basename(f));
  for (const m of MODELS) await model(m);
} finally {
  rmSync(tmp, { recursive: true, force: true });
  const out = opt("json", "");
  if (out) writeFileSync(out, JSON.stringify({ windows: WINDOWS, texts: TEXTS, results }, null, 2));
}
