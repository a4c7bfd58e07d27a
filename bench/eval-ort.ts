// Perplexity throughput: memc's CPU runtime vs onnxruntime-node CPU on the exported model.onnx, same text, same
// windows, same process; prints both ppls (they must agree within 0.5%), tokens/s and the ratio, and the machine.
// Run: npm run build && node dist/bench/eval-ort.js [--model llama-s] [--windows 16] [--seqlen 512] [--wbits 4 --group-size 128]

import os from "node:os";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluateModel } from "../src/eval/evaluate.js";
import { exportArtifact } from "../src/export/index.js";
import { ortEvaluate } from "../src/export/onnx/ort-evaluate.js";
import { silent } from "../src/util/events.js";

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(k);
  return i > 0 ? process.argv[i + 1]! : d;
};
const shared = process.env.MEMC_SHARED ?? "../shared";
const model = arg("--model", "llama-s");
const dir = model.includes("/") ? model : join(shared, "fixtures/models", model);
const text = arg("--text", join(shared, "fixtures/text/eval/english-heldout.txt"));
const windows = Number(arg("--windows", "16"));
const seqlen = Number(arg("--seqlen", "512"));
const wbits = process.argv.includes("--wbits") ? Number(arg("--wbits", "4")) : undefined;
const quant = wbits ? { bits: wbits, groupSize: Number(arg("--group-size", "128")), sym: process.argv.includes("--sym") } : undefined;

const tmp = await mkdtemp(join(tmpdir(), "memc-bench-ort-"));
try {
  const t0 = performance.now();
  const ex = await exportArtifact(dir, join(tmp, "onnx"), { format: "onnx", ...(quant ? { quant } : {}) });
  const exportS = (performance.now() - t0) / 1000;
  const [m] = await evaluateModel(dir, [text], { device: "cpu", seqlen, maxWindows: windows }, silent);
  const [o] = await ortEvaluate(join(tmp, "onnx"), [text], { seqlen, maxWindows: windows });
  const rel = Math.abs(o!.ppl / m!.ppl - 1);
  console.log(`machine: ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, node ${process.version}`);
  console.log(`model ${model} ${quant ? `w${quant.bits} g${quant.groupSize}` : "fp"}: exported ${(ex.artifactBytes / 1e6).toFixed(1)} MB in ${exportS.toFixed(1)} s`);
  console.log(`memc cpu: ppl ${m!.ppl.toFixed(4)}  ${m!.tokensPerSecond.toFixed(0)} tok/s  (${m!.fingerprint})`);
  console.log(`ort  cpu: ppl ${o!.ppl.toFixed(4)}  ${o!.tokensPerSecond.toFixed(0)} tok/s  (${o!.fingerprint})`);
  console.log(`ppl rel. diff ${(rel * 100).toFixed(4)}% (gate 0.5%: ${rel < 0.005 ? "ok" : "FAIL"}); memc/ort tokens/s ratio ${(m!.tokensPerSecond / o!.tokensPerSecond).toFixed(2)}`);
} finally {
  await rm(tmp, { recursive: true, force: true });
}
