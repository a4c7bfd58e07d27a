// GPU machine: the exported ONNX models in onnxruntime-node's WebGPU EP vs its CPU EP, same process: logits on the
// golden windows (max |Δ| vs transformers), whether every node runs on WebGPU (disable_cpu_ep_fallback), tokens/s.
// Run there: bash .device/enter.sh node dist/bench/eval-ort-gpu.js   (fixtures llama-t, moe-t carried with --with)

import os from "node:os";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { exportArtifact } from "../src/export/index.js";
import { SafetensorsFile } from "../src/model/safetensors/reader.js";
import { toF32, toInts } from "../src/runtime/convert.js";
import { writeFakeQuant } from "../test/e2e/export-helpers.js";

const models = process.env.MEMC_MODELS ?? "../shared/fixtures/models";
const log = (s: string) => console.log(s);

async function session(path: string, ep: "cpu" | "webgpu", strict: boolean) {
  return ort.InferenceSession.create(path, {
    executionProviders: [ep],
    graphOptimizationLevel: "extended",
    ...(process.env.MEMC_ORT_VERBOSE ? { logSeverityLevel: 0 as const } : {}),
    extra: { session: { qdq_matmulnbits_accuracy_level: "0", ...(strict ? { disable_cpu_ep_fallback: "1" } : {}) } },
  });
}

async function logits(s: ort.InferenceSession, ids: ArrayLike<number>, B: number, S: number): Promise<Float32Array> {
  const r = await s.run({ input_ids: new ort.Tensor("int64", BigInt64Array.from(Array.from(ids, BigInt)), [B, S]) });
  return (await r.logits!.getData()) as Float32Array;
}

const tmp = await mkdtemp(join(tmpdir(), "memc-gpu-"));
try {
  log(`machine: ${os.cpus()[0]?.model} × ${os.cpus().length}; ort backends ${JSON.stringify(ort.listSupportedBackends?.() ?? [])}`);
  await writeFakeQuant(join(models, "llama-t"), join(tmp, "fq"), { bits: 4, groupSize: 32, sym: false }, "F32");
  const cases: [string, string, Parameters<typeof exportArtifact>[2], string][] = [
    ["llama-t fp32", join(models, "llama-t"), { format: "onnx" }, "llama-t"],
    ["llama-t RTN w4g32 MatMulNBits", join(tmp, "fq"), { format: "onnx", quant: { bits: 4, groupSize: 32, sym: false } }, "llama-t"],
    ["moe-t fp32", join(models, "moe-t"), { format: "onnx" }, "moe-t"],
  ];
  for (const [name, src, opts, gold] of cases) {
    const out = join(tmp, name.replace(/\W+/g, "-"));
    await exportArtifact(src, out, opts);
    const path = join(out, "model.onnx");
    let gpu: ort.InferenceSession;
    let strict = "all nodes on WebGPU";
    try {
      gpu = await session(path, "webgpu", true);
    } catch (e) {
      strict = `CPU fallback needed: ${(e as Error).message.split("\n")[0]!.slice(0, 300)}`;
      gpu = await session(path, "webgpu", false);
    }
    const cpu = await session(path, "cpu", false);
    const goldPath = join(models, gold, "golden.safetensors");
    const g = existsSync(goldPath) ? await SafetensorsFile.open(goldPath) : undefined;
    let dg = 0, dc = 0;
    for (const k of [0, 1, 2]) {
      const ids = g ? toInts(await g.readBytes(`input_ids.${k}`), "I64") : Int32Array.from({ length: 64 }, (_, i) => (i * 131 + k * 17) % 8192);
      const want = g ? toF32(await g.readBytes(`logits.${k}`), "F32") : new Float32Array(64 * 8192).fill(NaN);
      const a = await logits(gpu, ids, 1, ids.length);
      const b = await logits(cpu, ids, 1, ids.length);
      for (let i = 0; i < a.length; i++) { dg = Math.max(dg, Math.abs(a[i]! - b[i]!)); if (g && name.includes("fp32")) dc = Math.max(dc, Math.abs(a[i]! - want[i]!)); }
    }
    await g?.close();
    const S = 512, B = 4;
    const ids = Int32Array.from({ length: B * S }, (_, i) => (i * 7919) % 8192);
    const time = async (s: ort.InferenceSession) => { await logits(s, ids, B, S); const t0 = performance.now(); for (let i = 0; i < 3; i++) await logits(s, ids, B, S); return (3 * B * S) / ((performance.now() - t0) / 1000); };
    const tg = await time(gpu), tc = await time(cpu);
    log(`${name}: ${strict}; max|webgpu − cpu| ${dg.toExponential(2)}${g && name.includes("fp32") ? `, max|webgpu − golden| ${dc.toExponential(2)}` : ""}; tokens/s webgpu ${tg.toFixed(0)} cpu ${tc.toFixed(0)} (ratio ${(tg / tc).toFixed(2)})`);
    await gpu.release();
    await cpu.release();
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
