// bench/omniquant-gpu: memc's CUDA OmniQuant-LWC training step (src/passes/omniquant/cuda-trainer.ts) vs a torch peer
// that mirrors the reference's step (bench/omniquant_gpu_torch.py: fp32 layer, fp16 streams, torch.cuda.amp.autocast,
// GradScaler, AdamW), both run in this one device call on random weights and activations. Shapes: a llama-s block
// (config read from --config, T 512) and a 7B-shaped Llama block (4096 / 11008 / 32·32 heads, T 2048; a few windows
// stand in for the 128 to time a step). W4 g128 asymmetric. Prints a table + JSON; projects a 7B W4A16g128 run.
// Run on the GPU machine: node dist/bench/omniquant-gpu.js --config shared/.../llama-s/config.json [--json out.json]
//   [--modes fp32,tf32,bf16] [--no-torch] [--small-windows 32] [--big-windows 4]
//   [--lowp-attention on|off] [--no-dw-bf16]  (A/B switches of two bf16-mode levers, context.ts Bf16Tuning;
//   low-precision attention unset = on from T 1024; --no-lowp-attention = off)

import { execa } from "execa";
import { readFileSync, writeFileSync } from "node:fs";
import { CudaDevice } from "../src/runtime/cuda/device.js";
import { CudaLayerTrainer } from "../src/passes/omniquant/cuda-trainer.js";
import { Lwc } from "../src/passes/omniquant/lwc.js";
import type { LinearSlot } from "../src/passes/omniquant/block-weights.js";
import type { BlockDims, BlockWeights } from "../src/nn/train/block.js";
import type { TrainGemmMode } from "../src/nn/train/cuda/context.js";
import { rng } from "../test/helpers/random.js";

interface Shape {
  name: string;
  D: number;
  F: number;
  H: number;
  KH: number;
  Dh: number;
  T: number;
  windows: number;
  epochs: number;
}

const arg = (k: string) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : undefined; };
const cfg = JSON.parse(readFileSync(arg("--config") ?? "../shared/fixtures/models/llama-s/config.json", "utf8")) as Record<string, number>;
const SHAPES: Shape[] = [
  { name: "llama-s block", D: cfg.hidden_size!, F: cfg.intermediate_size!, H: cfg.num_attention_heads!, KH: cfg.num_key_value_heads!, Dh: cfg.head_dim ?? cfg.hidden_size! / cfg.num_attention_heads!, T: 512, windows: Number(arg("--small-windows") ?? 32), epochs: 2 },
  { name: "7B-shaped block", D: 4096, F: 11008, H: 32, KH: 32, Dh: 128, T: 2048, windows: Number(arg("--big-windows") ?? 4), epochs: 2 },
];
const MODES = (arg("--modes") ?? "fp32,tf32,bf16").split(",") as TrainGemmMode[];

/** uniform random values rounded to bf16 (random bf16 weights), scale σ */
function bf16Random(n: number, seed: number, scale: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) out[i] = r() * 3.46 * scale;
  for (let i = 0; i < n; i++) u[i] = (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) & 0xffff0000;
  return out;
}

function block(s: Shape): { w: BlockWeights; slots: LinearSlot[] } {
  const { D, F, H, KH, Dh } = s;
  let k = 0;
  const r = (n: number) => bf16Random(n, ++k * 7919, 0.02);
  const w: BlockWeights = {
    inputNorm: new Float32Array(D).fill(1), postNorm: new Float32Array(D).fill(1),
    q: r(H * Dh * D), k: r(KH * Dh * D), v: r(KH * Dh * D), o: r(D * H * Dh), mlp: { gate: r(F * D), up: r(F * D), down: r(D * F) },
  };
  const dims: [string, number, number][] = [["q", H * Dh, D], ["k", KH * Dh, D], ["v", KH * Dh, D], ["o", D, H * Dh], ["gate", F, D], ["up", F, D], ["down", D, F]];
  const slots = dims.map(([m, rows, cols]) => ({ module: m, rows, cols }) as LinearSlot);
  return { w, slots };
}

interface Row {
  shape: string;
  impl: string;
  mode: string;
  stepMs: number;
  forwardMs: number;
  layerS?: number;
  peakMiB: number;
  profile?: Record<string, number>;
}

async function memc(dev: CudaDevice, s: Shape, mode: TrainGemmMode): Promise<Row> {
  const dims: BlockDims = { T: s.T, D: s.D, H: s.H, KH: s.KH, Dh: s.Dh, F: s.F, eps: 1e-5, theta: 10000 };
  const inputs = Array.from({ length: s.windows }, (_, j) => bf16Random(s.T * s.D, 1000 + j, 1));
  const { w, slots } = block(s);
  const spec = { bits: 4, groupSize: 128, sym: false };
  dev.allocator.resetPeak();
  const lowpArg = process.argv.includes("--no-lowp-attention") ? "off" : arg("--lowp-attention");
  const tune = { ...(lowpArg ? { lowpAttention: lowpArg === "on" } : {}), dwBf16: !process.argv.includes("--no-dw-bf16") };
  const tr = new CudaLayerTrainer(dev, dims, inputs, true, mode, tune);
  // warm-up layer (kernel compile, cuBLAS heuristics), then the timed one
  await tr.layer({ fp: w, slots, lwcs: slots.map((x) => new Lwc(x.module, x.rows, x.cols, spec)), restored: false, epochs: 1, lr: 1e-2, wantWeights: false });
  const r = await tr.layer({ fp: w, slots, lwcs: slots.map((x) => new Lwc(x.module, x.rows, x.cols, spec)), restored: false, epochs: s.epochs, lr: 1e-2, wantWeights: false });
  const profile = new Map<string, number>();
  await tr.layer({ fp: w, slots, lwcs: slots.map((x) => new Lwc(x.module, x.rows, x.cols, spec)), restored: false, epochs: 1, lr: 1e-2, wantWeights: false, profile });
  const peak = dev.allocator.stats().peak;
  tr.dispose();
  dev.allocator.trim();
  const stepMs = r.trainMs / r.steps;
  // a layer = fp targets + MSE before + training + MSE after/advance: 3 forward-only passes per window besides the steps
  const forwardMs = r.forwardMs / (3 * s.windows);
  const prof = Object.fromEntries([...profile].map(([k, v]) => [k, v / s.windows]));
  console.error(`${s.name} memc ${mode}: ${stepMs.toFixed(2)} ms/step, forward ${forwardMs.toFixed(2)} ms, epoch losses ${r.epochLoss.map((x) => x.toExponential(3)).join(" → ")}`);
  return { shape: s.name, impl: "memc", mode, stepMs, forwardMs, peakMiB: peak / 2 ** 20, profile: prof };
}

async function torch(s: Shape): Promise<Row | undefined> {
  try {
    const py = await execa("python3", ["bench/omniquant_gpu_torch.py", "--hidden", `${s.D}`, "--mlp", `${s.F}`, "--heads", `${s.H}`, "--kv-heads", `${s.KH}`, "--head-dim", `${s.Dh}`, "--seqlen", `${s.T}`, "--windows", `${s.windows}`, "--epochs", `${s.epochs}`], { env: { PYTHONUNBUFFERED: "1" } });
    const j = JSON.parse(py.stdout.trim().split("\n").pop()!) as { stepMs: number; forwardMs: number; peakBytes: number; autocast: string };
    return { shape: s.name, impl: "torch", mode: j.autocast, stepMs: j.stepMs, forwardMs: j.forwardMs, peakMiB: j.peakBytes / 2 ** 20 };
  } catch (e) {
    console.error(`torch peer failed for ${s.name}: ${(e as Error).message.slice(0, 2000)}`);
    return undefined;
  }
}

const dev = CudaDevice.open(0);
const rows: Row[] = [];
for (const s of SHAPES) {
  for (const m of MODES) rows.push(await memc(dev, s, m));
  const t = process.argv.includes("--no-torch") ? undefined : await torch(s);
  if (t) rows.push(t);
}
dev.dispose();

const torchOf = (shape: string) => rows.find((r) => r.shape === shape && r.impl === "torch");
console.log(`\n| block | impl | GEMMs | ms/step | step rate vs torch | ms/forward | peak GPU MiB |`);
console.log(`|---|---|---|---|---|---|---|`);
for (const r of rows) {
  const t = torchOf(r.shape);
  console.log(`| ${r.shape} | ${r.impl} | ${r.mode} | ${r.stepMs.toFixed(2)} | ${t && r.impl === "memc" ? (t.stepMs / r.stepMs).toFixed(2) + "x" : "–"} | ${r.forwardMs.toFixed(2)} | ${r.peakMiB.toFixed(0)} |`);
}
// projection: a 7B W4A16g128 run = 32 blocks × (128 windows × 20 epochs steps + 3 × 128 forwards)
const big = SHAPES[1]!;
console.log(`\nprojection, 7B W4A16g128 (32 blocks × 128 windows × 20 epochs, + 3 × 128 forward passes per block); paper: ~1.1 h on an A100`);
const proj: Record<string, number> = {};
for (const r of rows.filter((x) => x.shape === big.name)) {
  const s = (32 * (128 * 20 * r.stepMs + 3 * 128 * r.forwardMs)) / 1000;
  proj[`${r.impl} ${r.mode}`] = s;
  console.log(`  ${r.impl} ${r.mode}: ${(s / 60).toFixed(1)} min`);
}
console.log("\nper-step phase breakdown (ms, CUDA events around each phase):");
for (const r of rows.filter((x) => x.profile)) console.log(`  ${r.shape} ${r.mode}: ${Object.entries(r.profile!).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}`);
const out = arg("--json");
if (out) writeFileSync(out, JSON.stringify({ rows, projectionSeconds: proj, shapes: SHAPES }, null, 2));
