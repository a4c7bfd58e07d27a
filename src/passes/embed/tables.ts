// `memc embed MODEL`: compress a checkpoint's token embedding (and optionally lm_head) with PCA → float8,
// write a complete checkpoint (other tensors copied byte for byte, streamed) with `memc_embedding` in config.json.

import { chmod, copyFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint } from "../../model/checkpoint.js";
import { EMBED, LM_HEAD } from "../../model/names.js";
import { INDEX_FILE, writeSharded } from "../../model/safetensors/shards.js";
import type { TensorSource } from "../../model/safetensors/writer.js";
import { byteSize } from "../../model/safetensors/dtypes.js";
import { InputError } from "../../util/errors.js";
import type { Emit } from "../../util/events.js";
import { compressMatrix, reconstructMatrix, storedBytes, type EmbedParams } from "./codec.js";
import { CONFIG_KEY, LAYOUT_VERSION, baseName, layoutTensors, plainDtypeOf, type TableEntry } from "./layout.js";
import { reconstructionError, type ReconError } from "./metrics.js";
import { writeDirAtomic, writeRecipe, writeReport } from "./output.js";
import { checkpointPerplexity, type PplRow } from "./ppl.js";
import { sha256Prefix } from "../../eval/perplexity.js";

export type TableKind = "embed" | "lm_head";

export interface ModelEmbedOptions {
  params: Omit<EmbedParams, "plainDtype">;
  tables: TableKind[];
  force: boolean;
  ppl: string[];
  seqlen?: number;
  maxWindows?: number;
  /** Device for the perplexity runs: cpu | cuda | auto. */
  device: string;
}

export interface TableReport {
  tensor: string;
  shape: [number, number];
  sourceDtype: string;
  inputSha256: string;
  k: number;
  explainedVariance?: number;
  bytesBefore: number;
  bytesAfter: { values: number; scales: number; pca: number; total: number };
  ratio: number;
  error: ReconError;
}

export interface ModelEmbedReport {
  tables: TableReport[];
  checkpointBytes: { before: number; after: number; ratio: number };
  ppl?: { before: PplRow[]; after: PplRow[] };
  seconds: number;
}

export async function embedModel(modelDir: string, out: string, o: ModelEmbedOptions, emit: Emit): Promise<ModelEmbedReport> {
  const t0 = performance.now();
  const ckpt = await openCheckpoint(modelDir);
  try {
    if (ckpt.rawConfig[CONFIG_KEY] !== undefined) throw new InputError(`${modelDir}: config.json already has ${CONFIG_KEY} (already compressed)`);
    const names = o.tables.map((t) => (t === "embed" ? EMBED : LM_HEAD));
    for (const n of names) {
      if (ckpt.weights.has(n)) continue;
      const tied = n === LM_HEAD && ckpt.spec.tieEmbeddings;
      throw new InputError(`${modelDir}: no tensor ${n}${tied ? " (lm_head is tied to embed_tokens: --tables embed covers both)" : ""}`);
    }
    const replaced = new Set<string>(names);
    const tensors: TensorSource[] = [];
    for (const n of ckpt.weights.names()) {
      if (replaced.has(n)) continue;
      const info = ckpt.weights.info(n);
      tensors.push({ name: n, dtype: info.dtype, shape: info.shape, bytes: () => ckpt.weights.bytes(n) });
    }
    const entries: Record<string, TableEntry> = {};
    const reports: TableReport[] = [];
    for (const [i, n] of names.entries()) {
      emit({ kind: "progress", task: "embed", done: i, total: names.length, unit: "tables", detail: n });
      const info = ckpt.weights.info(n);
      if (info.shape.length !== 2) throw new InputError(`${modelDir}: ${n}: expected a 2-D table, found ${JSON.stringify(info.shape)}`);
      const [rows, dim] = info.shape as [number, number];
      const raw = await ckpt.weights.bytes(n);
      const x = await ckpt.weights.f32(n);
      const c = await compressMatrix(x, rows, dim, { ...o.params, plainDtype: plainDtypeOf(info.dtype) });
      const xh = await reconstructMatrix(c);
      const { entry, tensors: ts } = layoutTensors(baseName(n), c, info.dtype);
      entries[n] = entry;
      tensors.push(...ts);
      const bytes = storedBytes(c);
      const before = byteSize(info.dtype, info.shape)!;
      reports.push({
        tensor: n, shape: [rows, dim], sourceDtype: info.dtype, inputSha256: sha256Prefix(raw), k: c.k,
        explainedVariance: c.pca?.explainedVariance, bytesBefore: before, bytesAfter: bytes, ratio: before / bytes.total,
        error: reconstructionError(x, xh, rows, dim),
      });
    }
    emit({ kind: "progress", task: "embed", done: names.length, total: names.length, unit: "tables" });
    const beforeTotal = ckpt.weights.names().reduce((s, n) => s + (byteSize(ckpt.weights.info(n).dtype, ckpt.weights.info(n).shape) ?? 0), 0);
    const afterTotal = tensors.reduce((s, t) => s + (byteSize(t.dtype, t.shape) ?? 0), 0);
    const report: ModelEmbedReport = { tables: reports, checkpointBytes: { before: beforeTotal, after: afterTotal, ratio: beforeTotal / afterTotal }, seconds: 0 };
    await writeDirAtomic(out, o.force, async (tmp) => {
      await writeSharded(tmp, tensors);
      const config = { ...ckpt.rawConfig, [CONFIG_KEY]: { version: LAYOUT_VERSION, tables: entries } };
      await writeFile(join(tmp, "config.json"), JSON.stringify(config, null, 2) + "\n");
      for (const f of await readdir(modelDir, { withFileTypes: true })) {
        if (!f.isFile() || f.name === "config.json" || f.name === INDEX_FILE || f.name.endsWith(".safetensors")) continue;
        if (f.name === "memc.recipe.yaml" || f.name === "memc.report.json") continue;
        await copyFile(join(modelDir, f.name), join(tmp, f.name));
        await chmod(join(tmp, f.name), 0o644); // fixtures are read-only; the artifact should not be
      }
      if (o.ppl.length > 0) {
        const before = await checkpointPerplexity(modelDir, o.ppl, o.seqlen, o.maxWindows, o.device, emit);
        const after = await checkpointPerplexity(tmp, o.ppl, o.seqlen, o.maxWindows, o.device, emit);
        report.ppl = { before, after };
      }
      report.seconds = (performance.now() - t0) / 1000;
      await writeRecipe(tmp, { input: modelDir, output: out, mode: "model", params: { ...o.params, tables: o.tables, ppl: o.ppl, seqlen: o.seqlen, max_windows: o.maxWindows, device: o.device } });
      await writeReport(tmp, { command: "embed", mode: "model", input: modelDir, output: out, params: o.params, ...report });
    });
    return report;
  } finally {
    await ckpt.weights.close();
  }
}
