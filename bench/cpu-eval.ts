// CPU benchmark: memc's GEMM engine (CpuOps.linear) vs a plain onnxruntime-node MatMul session on the same shapes
// in the same process (ratio printed), the naive TS loop for scale, then eval throughput and peak RSS.
// Run: npm run build && node dist/bench/cpu-eval.js [--windows 64]

import os from "node:os";
import { readFileSync } from "node:fs";
import ort from "onnxruntime-node";
import { CpuOps } from "../src/runtime/cpu/ops.js";
import { linear as naiveLinear } from "../src/runtime/cpu/reference/linear.js";
import { matmulGraph } from "../src/runtime/cpu/engine/ort-graphs.js";
import { openCheckpoint } from "../src/model/checkpoint.js";
import { loadTokenizer } from "../src/model/tokenizer.js";
import { perplexity } from "../src/eval/perplexity.js";

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(k);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const windows = arg("--windows", 64);
const shared = process.env.MEMC_SHARED ?? "../shared";

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}

async function timeIt(f: () => Promise<unknown>, minMs = 1500): Promise<number> {
  await f();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < minMs) {
    await f();
    n++;
  }
  return (performance.now() - t0) / n;
}

async function main() {
  console.log(`machine: ${os.cpus()[0]?.model} × ${os.cpus().length} cores, node ${process.version}, onnxruntime-node ${ort.env.versions?.common ?? "1.30"}`);
  const ops = new CpuOps();
  const mm = await ort.InferenceSession.create(matmulGraph(), { intraOpNumThreads: 0 });
  console.log("\nGEMM y = x·wᵀ            memc GFLOP/s   ORT MatMul GFLOP/s   ratio");
  for (const [M, K, N] of [[16384, 384, 384], [16384, 384, 1024], [16384, 1024, 384], [256, 384, 8192], [2048, 2048, 2048]] as const) {
    const x = rand(M * K, 1);
    const w = rand(N * K, 2);
    const wt = new Float32Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wt[k * N + n] = w[n * K + k]!;
    const xt = await ops.upload(x, [M, K]);
    const wd = await ops.upload(w, [N, K]);
    const ours = await timeIt(() => ops.linear(xt, wd));
    const peer = await timeIt(() => mm.run({ a: new ort.Tensor("float32", x, [1, M, K]), b: new ort.Tensor("float32", wt, [1, K, N]) }));
    const fl = (2 * M * K * N) / 1e6;
    console.log(`[${M}×${K}]·[${N}×${K}]ᵀ`.padEnd(26), (fl / ours).toFixed(1).padStart(10), (fl / peer).toFixed(1).padStart(18), (peer / ours).toFixed(2).padStart(9) + "x");
  }
  {
    const [M, K, N] = [256, 384, 384];
    const x = rand(M * K, 3);
    const w = rand(N * K, 4);
    const t0 = performance.now();
    naiveLinear(x, w, M, K, N);
    const naive = performance.now() - t0;
    console.log(`naive TS loop (the oracle) [${M}×${K}]·[${N}×${K}]ᵀ: ${((2 * M * K * N) / 1e6 / naive).toFixed(2)} GFLOP/s`);
  }
  await mm.release();
  const text = `${shared}/fixtures/text/eval/english-heldout.txt`;
  console.log(`\neval throughput (${windows} windows × 512 of ${text})`);
  for (const name of ["llama-t", "llama-s", "moe-t", "moe-s"]) {
    const dir = `${shared}/fixtures/models/${name}`;
    const ck = await openCheckpoint(dir);
    const ids = (await loadTokenizer(dir)).encode(readFileSync(text, "utf8"));
    const r = await perplexity(ops, ck.spec, ck.weights, ids, { seqlen: 512, maxWindows: windows }, () => {});
    const rss = process.resourceUsage().maxRSS / 1024;
    console.log(`${name.padEnd(8)} ${r.tokensPerSecond.toFixed(0).padStart(7)} tok/s  (${r.seconds.toFixed(1)} s, ppl of these windows ${r.ppl.toFixed(3)}, peak RSS so far ${rss.toFixed(0)} MB)`);
    await ck.weights.close();
  }
  await ops.dispose();
}

await main();
