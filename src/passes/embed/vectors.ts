// `memc embed VECTORS`: a store of vectors (.npy float [n, d] or a safetensors tensor) → PCA → float8 in one
// safetensors file, with storage ratio, reconstruction error and cosine-retrieval agreement vs the original.

import { extname } from "node:path";
import { SafetensorsFile } from "../../model/safetensors/reader.js";
import { writeSafetensors } from "../../model/safetensors/writer.js";
import { toF32 } from "../../runtime/convert.js";
import { InputError } from "../../util/errors.js";
import type { Emit } from "../../util/events.js";
import { sha256Prefix } from "../../eval/perplexity.js";
import { cosineTopK, retrievalAgreement, type Agreement } from "../../eval/retrieval.js";
import { compressMatrix, decodeStored, reconstructMatrix, storedBytes, transformLike, type EmbedParams } from "./codec.js";
import { CONFIG_KEY, LAYOUT_VERSION, layoutTensors } from "./layout.js";
import { reconstructionError, type ReconError } from "./metrics.js";
import { readNpyInfo, readNpyRows } from "./npy.js";
import { writeDirAtomic, writeRecipe, writeReport } from "./output.js";
import { pcaReconstruct } from "./pca.js";

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

/** .npy [n, d] float, or one 2-D tensor of a safetensors file (`tensor`, or the only 2-D one). */
export async function loadVectors(path: string, tensor?: string): Promise<Vectors> {
  if (extname(path) === ".npy") {
    const info = await readNpyInfo(path);
    const x = await readNpyRows(info, 0, info.rows);
    return { x, rows: info.rows, dim: info.cols, sourceBytes: info.itemBytes, sourceDtype: info.descr, sha256: sha256Prefix(new Uint8Array(x.buffer)) };
  }
  if (extname(path) !== ".safetensors") throw new InputError(`${path}: expected a .npy file, a .safetensors file or a checkpoint directory`);
  const f = await SafetensorsFile.open(path);
  try {
    const two = f.header.tensors.filter((t) => t.shape.length === 2);
    let name = tensor;
    if (!name) {
      if (two.length !== 1) throw new InputError(`${path}: ${two.length} 2-D tensors (${two.slice(0, 5).map((t) => t.name).join(", ")}${two.length > 5 ? ", …" : ""}); pick one with --tensor`);
      name = two[0]!.name;
    }
    const info = f.info(name);
    if (info.shape.length !== 2) throw new InputError(`${path}: ${name}: expected [n, d], found ${JSON.stringify(info.shape)}`);
    const raw = await f.readBytes(name);
    const x = toF32(raw, info.dtype, `${path}: ${name}`);
    return { x, rows: info.shape[0]!, dim: info.shape[1]!, sourceBytes: raw.byteLength / x.length, sourceDtype: info.dtype, sha256: sha256Prefix(raw) };
  } finally {
    await f.close();
  }
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

export async function embedVectors(input: string, out: string, o: VectorEmbedOptions, emit: Emit): Promise<VectorEmbedReport> {
  const t0 = performance.now();
  const v = await loadVectors(input, o.tensor);
  const { x, rows: n, dim: d } = v;
  let q: Float32Array, nq: number, exclude: ((qi: number, ci: number) => boolean) | undefined, queriesDesc: string;
  if (o.queries) {
    const qv = await loadVectors(o.queries);
    if (qv.dim !== d) throw new InputError(`--queries ${o.queries}: vectors have ${qv.dim} dimensions, the store has ${d}`);
    q = qv.x; nq = qv.rows; queriesDesc = `${o.queries} (${nq})`;
  } else {
    nq = Math.max(1, Math.min(o.queryCount ?? 1000, Math.floor(n / 10)));
    const ids = sampleRows(n, nq, o.seed);
    q = new Float32Array(nq * d);
    ids.forEach((r, i) => q.set(x.subarray(r * d, (r + 1) * d), i * d));
    exclude = (qi, ci) => ids[qi] === ci;
    queriesDesc = `held-out sample of ${nq} store rows (seed ${o.seed}), each excluded from its own search`;
  }
  if (nq === 0 || n <= o.k) throw new InputError(`${input}: ${n} vectors is too few for top-${o.k} retrieval`);
  const fitOn = o.fit ? await loadVectors(o.fit) : undefined;
  if (fitOn && fitOn.dim !== d) throw new InputError(`--fit ${o.fit}: ${fitOn.dim} dimensions, the store has ${d}`);
  emit({ kind: "log", level: "info", message: `embed: ${n} × ${d} vectors, ${nq} queries` });
  const c = await compressMatrix(x, n, d, { ...o.params, plainDtype: "F32" }, fitOn?.x);
  const xh = await reconstructMatrix(c);
  const truth = await cosineTopK(q, nq, x, n, d, o.k, exclude);
  const qs = await transformLike(c, q, nq);
  const stored = await retrievalAgreement(truth, nq, o.k, qs, decodeStored(c), n, c.k, exclude);
  let reconstructed: Agreement | undefined;
  if (c.pca) {
    const qh = await pcaReconstruct(c.pca.basis, c.pca.mean, qs, nq, c.k, d);
    reconstructed = await retrievalAgreement(truth, nq, o.k, qh, xh, n, d, exclude);
  }
  const after = storedBytes(c);
  const report: VectorEmbedReport = {
    vectors: { rows: n, dim: d, sourceDtype: v.sourceDtype, sha256: v.sha256 },
    k: c.k,
    explainedVariance: c.pca?.explainedVariance,
    bytes: { before: n * d * v.sourceBytes, beforeFp32: n * d * 4, after, ratio: (n * d * v.sourceBytes) / after.total, ratioVsFp32: (n * d * 4) / after.total },
    error: reconstructionError(x, xh, n, d),
    retrieval: { queries: queriesDesc, stored, reconstructed },
    seconds: 0,
  };
  const { entry, tensors } = layoutTensors("vectors", c, v.sourceDtype);
  await writeDirAtomic(out, o.force, async (tmp) => {
    const meta = { format: "pt", [CONFIG_KEY]: JSON.stringify({ version: LAYOUT_VERSION, tables: { vectors: entry } }) };
    await writeSafetensors(`${tmp}/${VECTORS_FILE}`, tensors, { metadata: meta });
    report.seconds = (performance.now() - t0) / 1000;
    const { params } = o;
    await writeRecipe(tmp, { input, output: out, mode: "vectors", params: { ...params, tensor: o.tensor, queries: o.queries, query_count: o.queries ? undefined : nq, fit: o.fit, k: o.k, seed: o.seed } });
    await writeReport(tmp, { command: "embed", mode: "vectors", input, output: out, params, ...report });
  });
  return report;
}
