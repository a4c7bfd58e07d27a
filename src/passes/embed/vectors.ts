// `memc embed VECTORS`: a store of vectors (.npy float [n, d] or a safetensors tensor) → PCA → float8 in one
// safetensors file, with storage ratio, reconstruction error and cosine-retrieval agreement vs the original.

import { createHash } from "node:crypto";
import { writeSafetensors } from "../../model/safetensors/writer.js";
import { InputError } from "../../util/errors.js";
import type { Emit } from "../../util/events.js";
import { sha256Prefix } from "../../eval/perplexity.js";
import { cosineTopK, retrievalAgreement, type Agreement } from "../../eval/retrieval.js";
import { storedBytes, transformLike, type EmbedParams } from "./codec.js";
import { CONFIG_KEY, LAYOUT_VERSION, layoutTensors } from "./layout.js";
import type { ReconError } from "./metrics.js";
import { writeDirAtomic, writeRecipe, writeReport } from "./output.js";
import { componentsFor, pcaReconstruct } from "./pca.js";
import { openVectorSource, readAll, type RowSource } from "./source.js";
import { compressStream, reconstructedRows, storedRows } from "./stream.js";

export const VECTORS_FILE = "vectors.safetensors";

export interface Vectors {
  x: Float32Array;
  rows: number;
  dim: number;
  /** bytes per value in the source file */
  sourceBytes: number;
  sourceDtype: string;
  sha256: string;
}

/** A whole (small) store in memory: .npy [n, d] float, or one 2-D tensor of a safetensors file. */
export async function loadVectors(path: string, tensor?: string): Promise<Vectors> {
  const src = await openVectorSource(path, tensor);
  try {
    const x = await readAll(src);
    return { x, rows: src.rows, dim: src.dim, sourceBytes: src.sourceBytes, sourceDtype: src.sourceDtype, sha256: sha256Prefix(new Uint8Array(x.buffer)) };
  } finally {
    await src.close();
  }
}

/** Hashes the fp32 rows the first time they are read front to back (the first streamed pass). */
function hashing(src: RowSource): { src: RowSource; digest: () => string } {
  const h = createHash("sha256");
  let next = 0;
  const read = async (s: number, c: number) => {
    const x = await src.read(s, c);
    if (s === next) {
      h.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
      next += c;
    }
    return x;
  };
  return { src: { ...src, read }, digest: () => (next === src.rows ? h.digest("hex").slice(0, 12) : "unhashed") };
}

export interface VectorEmbedOptions {
  params: Omit<EmbedParams, "plainDtype">;
  tensor?: string;
  queries?: string;
  /** Held-out query sample size when no --queries file (default min(1000, n/10)). */
  queryCount?: number;
  fit?: string;
  k: number;
  seed: number;
  force: boolean;
}

export interface VectorEmbedReport {
  vectors: { rows: number; dim: number; sourceDtype: string; sha256: string };
  k: number;
  explainedVariance?: number;
  bytes: { before: number; beforeFp32: number; after: { values: number; scales: number; pca: number; total: number }; ratio: number; ratioVsFp32: number };
  error: ReconError;
  retrieval: { queries: string; stored: Agreement; reconstructed?: Agreement };
  seconds: number;
}

/** Distinct sample of `m` row ids from [0, n), seeded (Fisher–Yates prefix). */
export function sampleRows(n: number, m: number, seed: number): Int32Array {
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rnd() * (n - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.slice(0, m);
}

/** Streams the store: PCA fit pass, (absmax pass,) encode pass, then retrieval over row chunks; resident are the
 *  covariance, one batch, the output [n, k] and the queries. */
export async function embedVectors(input: string, out: string, o: VectorEmbedOptions, emit: Emit): Promise<VectorEmbedReport> {
  const t0 = performance.now();
  const opened = await openVectorSource(input, o.tensor);
  const fitSrc = o.fit ? await openVectorSource(o.fit) : undefined;
  try {
    const { src, digest } = hashing(opened);
    const { rows: n, dim: d } = src;
    let q: Float32Array, nq: number, exclude: ((qi: number, ci: number) => boolean) | undefined, queriesDesc: string;
    if (o.queries) {
      const qv = await loadVectors(o.queries);
      if (qv.dim !== d) throw new InputError(`--queries ${o.queries}: vectors have ${qv.dim} dimensions, the store has ${d}`);
      q = qv.x; nq = qv.rows; queriesDesc = `${o.queries} (${nq})`;
    } else {
      nq = Math.max(1, Math.min(o.queryCount ?? 1000, Math.floor(n / 10)));
      const ids = sampleRows(n, nq, o.seed);
      q = new Float32Array(nq * d);
      for (const [i, r] of ids.entries()) q.set(await opened.read(r, 1), i * d);
      exclude = (qi, ci) => ids[qi] === ci;
      queriesDesc = `held-out sample of ${nq} store rows (seed ${o.seed}), each excluded from its own search`;
    }
    if (n <= o.k) throw new InputError(`${input}: ${n} vectors is too few for top-${o.k} retrieval`);
    if (fitSrc && fitSrc.dim !== d) throw new InputError(`--fit ${o.fit}: ${fitSrc.dim} dimensions, the store has ${d}`);
    emit({ kind: "log", level: "info", message: `embed: ${n} × ${d} ${src.sourceDtype} vectors, ${nq} queries` });
    const fitRows = (fitSrc ?? src).rows;
    if (o.params.pca !== undefined && fitRows <= componentsFor(o.params.pca, d)) {
      emit({ kind: "log", level: "warn", message: `PCA fitted on ${fitRows} vectors keeps ${componentsFor(o.params.pca, d)} components: only ${fitRows - 1} are determined by the data, the rest are arbitrary` });
    }
    const progress = (phase: string, done: number, total: number) => emit({ kind: "progress", task: `embed ${phase}`, done, total, unit: "vectors" });
    const { c, error } = await compressStream(src, { ...o.params, plainDtype: "F32" }, fitSrc, progress);
    const truth = await cosineTopK(q, nq, (s, m) => opened.read(s, m), n, d, o.k, exclude);
    const qs = await transformLike(c, q, nq);
    const stored = await retrievalAgreement(truth, nq, o.k, qs, (s, m) => storedRows(c, s, m), n, c.k, exclude);
    let reconstructed: Agreement | undefined;
    if (c.pca) {
      const qh = await pcaReconstruct(c.pca.basis, c.pca.mean, qs, nq, c.k, d);
      reconstructed = await retrievalAgreement(truth, nq, o.k, qh, (s, m) => reconstructedRows(c, s, m), n, d, exclude);
    }
    const after = storedBytes(c);
    const before = n * d * src.sourceBytes;
    const report: VectorEmbedReport = {
      vectors: { rows: n, dim: d, sourceDtype: src.sourceDtype, sha256: digest() },
      k: c.k,
      explainedVariance: c.pca?.explainedVariance,
      bytes: { before, beforeFp32: n * d * 4, after, ratio: before / after.total, ratioVsFp32: (n * d * 4) / after.total },
      error,
      retrieval: { queries: queriesDesc, stored, reconstructed },
      seconds: 0,
    };
    const { entry, tensors } = layoutTensors("vectors", c, src.sourceDtype);
    await writeDirAtomic(out, o.force, async (tmp) => {
      const meta = { format: "pt", [CONFIG_KEY]: JSON.stringify({ version: LAYOUT_VERSION, tables: { vectors: entry } }) };
      await writeSafetensors(`${tmp}/${VECTORS_FILE}`, tensors, { metadata: meta });
      report.seconds = (performance.now() - t0) / 1000;
      const { params } = o;
      await writeRecipe(tmp, { input, output: out, mode: "vectors", params: { ...params, tensor: o.tensor, queries: o.queries, query_count: o.queries ? undefined : nq, fit: o.fit, k: o.k, seed: o.seed } });
      await writeReport(tmp, { command: "embed", mode: "vectors", input, output: out, params, ...report });
    });
    return report;
  } finally {
    await opened.close();
    await fitSrc?.close();
  }
}
