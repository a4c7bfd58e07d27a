// bench/attention-gpu: one causal GQA attention call (fp32 activations in/out, as memc's forward holds them) in each
// memc implementation vs torch sdpa (bf16, causal, enable_gqa) on the same shapes, CUDA-event timed after warm-up.
// flash-bf16 is also timed with the register budget for 3 blocks per SM (MINB=3) next to the default (2).
// Run on the GPU machine: node dist/bench/attention-gpu.js

import { execa } from "execa";
import { CudaDevice } from "../src/runtime/cuda/device.js";
import { CudaOps } from "../src/runtime/cuda/ops.js";
import { f32, i32, ptr } from "../src/runtime/cuda/program.js";

const SHAPES = [
  { name: "llama-s (32×512, H 6/2, Dh 64)", W: 32, L: 512, H: 6, KH: 2, Dh: 64 },
  { name: "7B (8×2048, H 32/8, Dh 128)", W: 8, L: 2048, H: 32, KH: 8, Dh: 128 },
];

const dev = CudaDevice.open(0);
const time = (f: () => void, n = 10) => {
  for (let i = 0; i < 2; i++) f();
  return dev.time(() => {
    for (let i = 0; i < n; i++) f();
  }) / n;
};
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
    const ms = time(() => void o.attention(q, k, v, s.H, s.KH, s.Dh, s.L).then((y) => o.free(y)), impl === "flash-bf16" ? 10 : 2);
    line.push(`${impl} ${ms.toFixed(2)} ms (${(flops / ms / 1e9).toFixed(0)} TFLOP/s)`);
  }
  const out = dev.allocator.alloc(rows * s.H * s.Dh * 4);
  const k3 = dev.kernel("attention_bf16.cu", "attention_causal_bf16", { HD: s.Dh, MINB: 3 });
  const ms3 = time(() => k3.launch([Math.ceil(s.L / 64), s.H, s.W], [128, 1, 1], [ptr(out), ptr(q.ptr), ptr(k.ptr), ptr(v.ptr), i32(s.H), i32(s.KH), i32(s.L), f32(Math.LOG2E / Math.sqrt(s.Dh))]));
  line.push(`flash-bf16 MINB=3 ${ms3.toFixed(2)} ms (${(flops / ms3 / 1e9).toFixed(0)} TFLOP/s)`);
  dev.allocator.free(out);
  const py = await execa("python3", ["bench/attention-gpu-torch.py", "--W", `${s.W}`, "--L", `${s.L}`, "--H", `${s.H}`, "--KH", `${s.KH}`, "--Dh", `${s.Dh}`]);
  const t = JSON.parse(py.stdout.trim().split("\n").at(-1)!) as { ms: number; torch: string };
  line.push(`torch ${t.torch} sdpa bf16 ${t.ms.toFixed(2)} ms (${(flops / t.ms / 1e9).toFixed(0)} TFLOP/s)`);
  console.log(`attention ${s.name}: ${line.join(" | ")}`);
  for (const z of [q, k, v]) ops.free(z);
}
dev.dispose();
