// bench/attention-gpu: one causal GQA attention call (fp32 activations in/out, as memc's forward holds them) in each
// memc implementation vs torch sdpa (bf16, causal, enable_gqa) on the same shapes, CUDA-event timed after warm-up.
// Run on the GPU machine: node dist/bench/attention-gpu.js

import { execa } from "execa";
import { CudaDevice } from "../src/runtime/cuda/device.js";
import { CudaOps } from "../src/runtime/cuda/ops.js";

const SHAPES = [
  { name: "llama-s (32×512, H 6/2, Dh 64)", W: 32, L: 512, H: 6, KH: 2, Dh: 64 },
  { name: "7B (8×2048, H 32/8, Dh 128)", W: 8, L: 2048, H: 32, KH: 8, Dh: 128 },
];

const dev = CudaDevice.open(0);
/** mean ms of n awaited calls (each output freed before the next call, so the caching allocator reuses it) */
async function time(f: () => Promise<void>, n: number): Promise<number> {
  for (let i = 0; i < 2; i++) await f();
  const d = dev.driver;
  const [a, b] = [d.eventCreate(), d.eventCreate()];
  d.eventRecord(a);
  for (let i = 0; i < n; i++) await f();
  d.eventRecord(b);
  d.eventSynchronize(b);
  const ms = d.eventElapsedMs(a, b) / n;
  d.eventDestroy(a);
  d.eventDestroy(b);
  return ms;
}
for (const s of SHAPES) {
  const flops = (4 * s.W * s.H * s.L * s.L * s.Dh) / 2; // causal half of Q·Kᵀ and P·V
  const rand = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 2);
  const ops = new CudaOps(dev, { gemm: "bf16" });
  const rows = s.W * s.L;
  const q = await ops.upload(rand(rows * s.H * s.Dh), [rows, s.H * s.Dh]);
  const k = await ops.upload(rand(rows * s.KH * s.Dh), [rows, s.KH * s.Dh]);
  const v = await ops.upload(rand(rows * s.KH * s.Dh), [rows, s.KH * s.Dh]);
  const line: string[] = [];
  for (const impl of ["gemm", "flash", "flash-bf16"] as const) {
    const o = new CudaOps(dev, { gemm: "tf32", attention: impl });
    const ms = await time(async () => o.free(await o.attention(q, k, v, s.H, s.KH, s.Dh, s.L)), impl === "flash-bf16" ? 20 : 3);
    line.push(`${impl} ${ms.toFixed(2)} ms (${(flops / ms / 1e9).toFixed(0)} TFLOP/s)`);
  }
  const py = await execa("python3", ["bench/attention-gpu-torch.py", "--W", `${s.W}`, "--L", `${s.L}`, "--H", `${s.H}`, "--KH", `${s.KH}`, "--Dh", `${s.Dh}`]);
  const t = JSON.parse(py.stdout.trim().split("\n").at(-1)!) as { ms: number; torch: string };
  line.push(`torch ${t.torch} sdpa bf16 ${t.ms.toFixed(2)} ms (${(flops / t.ms / 1e9).toFixed(0)} TFLOP/s)`);
  console.log(`attention ${s.name}: ${line.join(" | ")}`);
  for (const z of [q, k, v]) ops.free(z);
}
dev.dispose();
