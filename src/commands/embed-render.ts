// Plain-text rendering of `memc embed` reports (the command's stdout; --json prints the objects instead).

import type { ModelEmbedReport } from "../passes/embed/tables.js";
import type { VectorEmbedReport } from "../passes/embed/vectors.js";

const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export function renderModelReport(out: string, r: ModelEmbedReport): string {
  const lines = [`${out}: embedding tables compressed (${r.seconds.toFixed(1)} s)`];
  for (const t of r.tables) {
    lines.push(
      `  ${t.tensor} [${t.shape.join(", ")}] ${t.sourceDtype}: ${mb(t.bytesBefore)} → ${mb(t.bytesAfter.total)} (${t.ratio.toFixed(2)}x; k=${t.k}` +
        `${t.explainedVariance !== undefined ? `, explained variance ${pct(t.explainedVariance)}` : ""})  rel. MSE ${t.error.relativeMse.toExponential(3)}, mean cos ${t.error.meanCosine.toFixed(5)}`,
    );
  }
  lines.push(`  checkpoint tensors: ${mb(r.checkpointBytes.before)} → ${mb(r.checkpointBytes.after)} (${r.checkpointBytes.ratio.toFixed(3)}x)`);
  if (r.ppl) {
    r.ppl.before.forEach((b, i) => {
      const a = r.ppl!.after[i]!;
      lines.push(`  ppl ${b.file}: ${b.ppl.toFixed(4)} → ${a.ppl.toFixed(4)} (${a.ppl >= b.ppl ? "+" : ""}${pct(a.ppl / b.ppl - 1)})`, `    ${a.fingerprint}`);
    });
  }
  return lines.join("\n") + "\n";
}

export function renderVectorReport(out: string, r: VectorEmbedReport): string {
  const s = r.retrieval.stored, h = r.retrieval.reconstructed;
  const lines = [
    `${out}: ${r.vectors.rows} × ${r.vectors.dim} ${r.vectors.sourceDtype} vectors → k=${r.k}${r.explainedVariance !== undefined ? ` (explained variance ${pct(r.explainedVariance)})` : ""} (${r.seconds.toFixed(1)} s)`,
    `  bytes: ${mb(r.bytes.before)} → ${mb(r.bytes.after.total)} (${r.bytes.ratio.toFixed(2)}x vs source, ${r.bytes.ratioVsFp32.toFixed(2)}x vs fp32)`,
    `  reconstruction: rel. MSE ${r.error.relativeMse.toExponential(3)}, mean cos ${r.error.meanCosine.toFixed(5)}, min cos ${r.error.minCosine.toFixed(5)}`,
    `  retrieval vs uncompressed (${r.retrieval.queries}): recall@${s.k} ${s.recall.toFixed(4)}, nDCG@${s.k} ${s.ndcg.toFixed(4)} (stored space)`,
  ];
  if (h) lines.push(`    reconstructed space: recall@${h.k} ${h.recall.toFixed(4)}, nDCG@${h.k} ${h.ndcg.toFixed(4)}`);
  return lines.join("\n") + "\n";
}
