// bench/embed: N × D random vectors (generated batch by batch, never all resident) through PCA fit (streaming
// covariance) + eigen + projection + float8, on the CPU. Prints rates, peak RSS, and ratios against onnxruntime's
// own float8 Cast run on the same batch. Usage: node dist/bench/embed.js [--rows 1000000] [--dim 768] [--pca 0.5] [--device cpu|cuda]

import { cpus, totalmem } from "node:os";
import { CovarianceAccumulator, componentsFor, pcaFromCovariance, pcaProject, type Gemm } from "../src/passes/embed/pca.js";
import { openOps } from "../src/runtime/backend.js";
import { silent } from "../src/util/events.js";
import { quantizeFloat8 } from "../src/passes/embed/quantize.js";
import { ortFloat8RoundTrip } from "../src/passes/embed/ort-cast.js";
import { decodeFloat8Array, encodeFloat8Array, parseFloat8Format } from "../src/runtime/float8.js";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}
const N = Number(arg("rows", "1000000")), D = Number(arg("dim", "768")), FRAC = Number(arg("pca", "0.5"));
const BATCH = Number(arg("batch", "16384")), FMT = parseFloat8Format(arg("float8", "e4m3"))!;
const K = componentsFor(FRAC, D);
const DEVICE = arg("device", "cpu");

/** The GEMMs on a memc backend (cuda: cuBLAS) instead of onnxruntime: upload, linear, download. */
async function backendGemm(): Promise<{ gemm?: Gemm; name: string; dispose: () => Promise<void> }> {
  if (DEVICE === "cpu") return { name: "cpu (onnxruntime MLAS)", dispose: async () => {} };
  const ops = await openOps(DEVICE, silent);
  const gemm: Gemm = async (x, w, M, Kd, N) => {
    const a = await ops.upload(x, [M, Kd]);
    const b = await ops.upload(w, [N, Kd]);
    const y = await ops.linear(a, b);
    const out = await ops.download(y);
    ops.free(a); ops.free(b); ops.free(y);
    return out;
  };
  return { gemm, name: `${ops.device} (memc backend linear)`, dispose: () => ops.dispose() };
}

/** Batch b of the synthetic store: coordinate j has std 1/sqrt(1 + j/8) (a decaying spectrum), approx. Gaussian. */
function batch(b: number, rows: number): Float32Array {
  let s = (0x9e3779b9 ^ (b * 2654435761)) >>> 0 || 1;
  const x = new Float32Array(rows * D);
  const std = Float32Array.from({ length: D }, (_, j) => 1 / Math.sqrt(1 + j / 8));
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < D; j++) {
      let u = 0;
      for (let t = 0; t < 4; t++) { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; u += (s >>> 0) / 4294967296; }
      x[i * D + j] = (u - 2) * 1.7320508 * std[j]!;
    }
  }
  return x;
}

const rssMB = () => process.resourceUsage().maxRSS / 1024;
const sec = (t: number) => (performance.now() - t) / 1000;

async function main(): Promise<void> {
  console.log(`bench/embed: ${N} × ${D} fp32 → PCA ${FRAC} (k=${K}) → ${FMT}; batch ${BATCH}; ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, MEMC_CPU_THREADS=${process.env.MEMC_CPU_THREADS ?? "default"}`);
  const be = await backendGemm();
  console.log(`  GEMMs on ${be.name}`);
  const nb = Math.ceil(N / BATCH);
  let gen = 0;
  const acc = new CovarianceAccumulator(D, be.gemm);
  let t = performance.now();
  for (let b = 0; b < nb; b++) {
    const rows = Math.min(BATCH, N - b * BATCH);
    const g = performance.now();
    const x = batch(b, rows);
    gen += sec(g);
    await acc.add(x, rows);
  }
  const fitS = sec(t) - gen;
  t = performance.now();
  const pca = pcaFromCovariance(acc, K);
  const eigS = sec(t);
  const codes = new Uint8Array(N * K);
  let projS = 0, castS = 0, gen2 = 0, peerS = 0, oursOne = 0;
  for (let b = 0; b < nb; b++) {
    const rows = Math.min(BATCH, N - b * BATCH);
    let g = performance.now();
    const x = batch(b, rows);
    gen2 += sec(g);
    g = performance.now();
    const y = await pcaProject(pca, x, rows, be.gemm);
    projS += sec(g);
    g = performance.now();
    const q = quantizeFloat8(y, rows, K, FMT, "none");
    const one = sec(g);
    castS += one;
    codes.set(q.codes, b * BATCH * K);
    if (b === 0) {
      g = performance.now();
      await ortFloat8RoundTrip(y, FMT);
      peerS = sec(g);
      g = performance.now();
      decodeFloat8Array(encodeFloat8Array(y, FMT), FMT);
      oursOne = sec(g);
    }
  }
  const total = fitS + eigS + projS + castS;
  const gflop = (2 * N * D * D + 2 * N * D * K) / 1e9;
  console.log(`  fit (covariance, streamed): ${fitS.toFixed(2)} s  (${(N / fitS / 1e3).toFixed(1)} k vectors/s, ${((2 * N * D * D) / fitS / 1e9).toFixed(1)} GFLOP/s)`);
  console.log(`  eigen (tred2+tql2, d=${D}):  ${eigS.toFixed(2)} s`);
  console.log(`  projection:                 ${projS.toFixed(2)} s  (${((2 * N * D * K) / projS / 1e9).toFixed(1)} GFLOP/s)`);
  console.log(`  float8 cast (${FMT}):         ${castS.toFixed(2)} s  (${((N * K) / castS / 1e6).toFixed(0)} M values/s)`);
  console.log(`  total (excl. generation ${(gen + gen2).toFixed(1)} s): ${total.toFixed(2)} s → ${(N / total / 1e3).toFixed(1)} k vectors/s; ${gflop.toFixed(0)} GFLOP of GEMM`);
  console.log(`  peak RSS ${rssMB().toFixed(0)} MB (codes ${(codes.byteLength / 1e6).toFixed(0)} MB + covariance ${((D * D * 8 * 2) / 1e6).toFixed(1)} MB + one batch ${((BATCH * D * 4) / 1e6).toFixed(0)} MB; the ${((N * D * 4) / 1e9).toFixed(2)} GB store is never resident)`);
  console.log(`  peer, one batch of ${BATCH}×${K}: onnxruntime Cast→${FMT}→float ${(peerS * 1e3).toFixed(1)} ms vs memc encode+decode ${(oursOne * 1e3).toFixed(1)} ms (memc/ort time ratio ${(oursOne / peerS).toFixed(2)})`);
  await be.dispose();
  console.log(`  explained variance kept: ${(pca.variances.reduce((a, v) => a + v, 0) / pca.totalVariance * 100).toFixed(2)}%`);
}

await main();
