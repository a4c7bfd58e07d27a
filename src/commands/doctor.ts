// `memc doctor [--json]`: which backends, CUDA libraries and GPUs were found, their versions, and why anything is missing.

import type { Command } from "commander";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

interface DoctorReport {
  node: string;
  backends: { cpu: { ok: boolean; detail: string }; cuda: { ok: boolean; detail: string }; null: { ok: true; detail: string } };
  cuda: import("../runtime/cuda/probe.js").CudaReport | { ok: false; reason: string };
  nvcc?: string;
}

function nvccVersion(): string | undefined {
  try {
    const out = execFileSync("nvcc", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 });
    return /release ([\d.]+)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

export async function doctorReport(): Promise<DoctorReport> {
  let ortVersion = "not found";
  try {
    ortVersion = (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version;
  } catch {
    /* reported below */
  }
  let cuda: DoctorReport["cuda"];
  try {
    const { probeCuda } = await import("../runtime/cuda/probe.js");
    cuda = probeCuda();
  } catch (e) {
    cuda = { ok: false, reason: `the CUDA backend failed to load (koffi?): ${(e as Error).message}` };
  }
  const gpu = "gpus" in cuda && cuda.gpus[0] ? `${cuda.gpus[0].name} (sm ${cuda.gpus[0].computeCapability})` : "";
  return {
    node: process.version,
    backends: {
      cpu: { ok: ortVersion !== "not found", detail: `TypeScript reference ops + onnxruntime-node ${ortVersion} (fp32 GEMM engine)` },
      cuda: { ok: cuda.ok, detail: cuda.ok ? `koffi → libcuda/NVRTC/cuBLAS on ${gpu}` : (cuda.reason ?? "unknown") },
      null: { ok: true, detail: "records launches, computes nothing (CI, --dry-run)" },
    },
    cuda,
    nvcc: nvccVersion(),
  };
}

function render(r: DoctorReport): string {
  const lines: string[] = [`node ${r.node}`, "backends:"];
  for (const [name, b] of Object.entries(r.backends)) lines.push(`  ${b.ok ? "ok " : "no "} ${name.padEnd(5)} ${b.detail}`);
  if ("libraries" in r.cuda) {
    lines.push("cuda libraries:");
    for (const l of r.cuda.libraries) {
      lines.push(l.found ? `  ok  ${l.name.padEnd(17)} ${l.version ? l.version + "  " : ""}${l.path} (via ${l.via})` : `  no  ${l.name.padEnd(17)} ${l.required ? "" : "(optional) "}${l.error}`);
    }
    lines.push(r.cuda.gpus.length ? "gpus:" : "gpus: none");
    for (const g of r.cuda.gpus) lines.push(`  ${g.ordinal}: ${g.name}, compute ${g.computeCapability}, ${g.totalMiB} MiB, ${g.multiprocessors} SMs`);
    if (r.cuda.driverVersion) lines.push(`driver supports CUDA ${r.cuda.driverVersion}`);
    lines.push(`nvrtc include dirs: ${r.cuda.includeDirs.join(", ") || "none found (kernels are header-free; fine)"}`);
    lines.push(`kernel cache: ${r.cuda.kernelCache}`);
  }
  lines.push(`nvcc: ${r.nvcc ?? "not on PATH (only the CI kernel-compile test needs it)"}`);
  return lines.join("\n") + "\n";
}

export function register(program: Command): void {
  program
    .command("doctor")
    .description("Which backends, CUDA libraries and GPUs were found, their versions, and why anything is missing")
    .option("--json", "print one JSON object on stdout")
    .action(async (o: { json?: boolean }) => {
      const r = await doctorReport();
      process.stdout.write(o.json ? JSON.stringify(r, null, 2) + "\n" : render(r));
    });
}
