// `memc inspect MODEL [--json]`: architecture, parameters and bytes by component, size at common settings.

import type { Command } from "commander";
import { openCheckpoint } from "../model/checkpoint.js";
import { inspectCheckpoint, type Inspection } from "../model/inspect.js";

export function register(program: Command): void {
  program
    .command("inspect")
    .description("Architecture, parameters and bytes by component, and what the model would weigh at W4 g128, W3 g128, 2:4, …")
    .argument("<model>", "HF checkpoint directory")
    .option("--json", "print one JSON object on stdout")
    .action(async (model: string, o: { json?: boolean }) => {
      const ckpt = await openCheckpoint(model);
      try {
        const r = inspectCheckpoint(ckpt);
        process.stdout.write(o.json ? JSON.stringify(r, null, 2) + "\n" : render(r));
      } finally {
        await ckpt.weights.close();
      }
    });
}

const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
const mp = (p: number) => `${(p / 1e6).toFixed(3)} M`;

function render(r: Inspection): string {
  const lines = [
    `${r.dir}: ${r.modelType} (${r.family} family), ${r.layers} layers, hidden ${r.hidden}, heads ${r.heads}/${r.kvHeads} (head ${r.headDim}), MLP ${r.intermediate}, vocab ${r.vocab}` +
      (r.experts ? `, ${r.experts.count} experts × ${r.experts.intermediate} (top-${r.experts.topK})` : ""),
    `${r.packedAs ? "stored values" : "parameters"} ${mp(r.parameters)}, ${mb(r.bytes)} (${Object.entries(r.dtypes).map(([d, n]) => `${d} ${mp(n)}`).join(", ")})`,
    "",
    "component     parameters        bytes   share",
  ];
  for (const [c, v] of Object.entries(r.components)) {
    if (v.parameters === 0) continue;
    lines.push(`${c.padEnd(12)} ${mp(v.parameters).padStart(11)} ${mb(v.bytes).padStart(12)} ${((100 * v.bytes) / r.bytes).toFixed(1).padStart(6)}%`);
  }
  if (r.packedAs) return lines.join("\n") + `\n\nalready packed (${r.packedAs}): bytes above are as stored; \`memc eval\` dequantizes it with the format's reader\n`;
  lines.push("", "decoder Linears at                                size    ratio");
  for (const e of r.estimates) lines.push(`${e.setting.padEnd(42)} ${mb(e.bytes).padStart(10)} ${e.ratio.toFixed(2).padStart(7)}x`);
  return lines.join("\n") + "\n";
}
