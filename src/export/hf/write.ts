// Writes a GPTQ or compressed-tensors packed checkpoint from an HF checkpoint of fake-quant weights:
// each quantizable Linear becomes packed tensors, everything else (embeddings, norms, routers, lm_head,
// layers a format cannot hold) is copied as is; config.json gets quantization_config.

import { copyFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Checkpoint } from "../../model/checkpoint.js";
import { LM_HEAD, quantizableLinears } from "../../model/names.js";
import { byteSize, type Dtype } from "../../model/safetensors/dtypes.js";
import { writeSharded } from "../../model/safetensors/shards.js";
import type { TensorSource } from "../../model/safetensors/writer.js";
import { fromF32 } from "../../runtime/convert.js";
import { InputError } from "../../util/errors.js";
import { rederiveCodes, roundScales } from "./codes.js";
import { ctConfig, gptqConfig, type PackScheme } from "./config.js";
import { packCt } from "./ct.js";
import { ctFp8Config, dequantizeFp8Channel, quantizeFp8Channel } from "./fp8.js";
import { packGptq, type GptqFormat } from "./gptq.js";
import { Unrepresentable, type QuantLinear } from "./qlinear.js";

export type HfFormat = "ct" | "gptq" | "gptq_v2" | "ct-fp8";

export interface PackOptions extends PackScheme {
  format: HfFormat;
  /** Codes straight from the quantizer, by module name (`model.layers.0.self_attn.q_proj`); others are re-derived. */
  codes?: Map<string, QuantLinear>;
  version?: string;
}

export interface PackedLayerReport {
  module: string;
  packed: boolean;
  reason?: string;
  maxAbsDiff?: number;
  changed?: number;
}

export interface PackReport {
  format: HfFormat;
  scheme: PackScheme;
  files: string[];
  layers: PackedLayerReport[];
  bytesIn: number;
  bytesOut: number;
}

/** The checkpoint's declared float dtype (config `dtype` / `torch_dtype`), BF16 when absent. */
export function modelDtypeOf(raw: Record<string, unknown>): Dtype {
  const d = String(raw.dtype ?? raw.torch_dtype ?? "bfloat16");
  return d === "float16" ? "F16" : d === "float32" ? "F32" : "BF16";
}

const i32Bytes = (a: Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

interface PackedModule {
  tensors: { name: string; dtype: Dtype; shape: number[]; data: Uint8Array }[];
  report: PackedLayerReport;
}

/** One Linear `<mod>.weight` [N, K] → its packed tensors; throws Unrepresentable / InputError(divisible) when the
 *  format cannot hold it (the caller keeps it dense). */
async function packModule(weights: Checkpoint["weights"], mod: string, name: string, o: PackOptions, scaleDtype: Dtype): Promise<PackedModule> {
  const info = weights.info(name);
  const [N, K] = info.shape as [number, number];
  const w = await weights.f32(name);
  if (o.format === "ct-fp8") {
    const f = quantizeFp8Channel(w, N, K, scaleDtype);
    const back = dequantizeFp8Channel(f.weight, f.scale, N, K);
    let maxAbsDiff = 0;
    for (let i = 0; i < w.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(back[i]! - w[i]!));
    return {
      tensors: [{ name, dtype: "F8_E4M3", shape: [N, K], data: f.weight }, { name: `${mod}.weight_scale`, dtype: scaleDtype, shape: [N, 1], data: fromF32(f.scale, scaleDtype) }],
      report: { module: mod, packed: true, maxAbsDiff },
    };
  }
  const g = o.groupSize > 0 ? o.groupSize : K;
  if (K % g !== 0) throw new InputError(`in features ${K} not divisible by group size ${g}`);
  const G = K / g;
  let ql = o.codes?.get(mod);
  let check: { maxAbsDiff: number; changed: number } | undefined;
  if (ql) ql = { ...ql, scale: roundScales(ql.scale, scaleDtype) };
  else {
    const c = rederiveCodes(name, w, N, K, { ...o, groupSize: g }, info.dtype, scaleDtype);
    ql = c.ql;
    check = { maxAbsDiff: c.maxAbsDiff, changed: c.changed };
  }
  const report = { module: mod, packed: true, ...check };
  if (o.format === "ct") {
    const t = packCt(ql, name);
    const out: PackedModule["tensors"] = [
      { name: `${mod}.weight_packed`, dtype: "I32", shape: [N, t.weightPacked.length / N], data: i32Bytes(t.weightPacked) },
      { name: `${mod}.weight_scale`, dtype: scaleDtype, shape: [N, G], data: fromF32(t.weightScale, scaleDtype) },
      { name: `${mod}.weight_shape`, dtype: "I64", shape: [2], data: new Uint8Array(BigInt64Array.from([BigInt(N), BigInt(K)]).buffer) },
    ];
    if (t.weightZeroPoint) out.push({ name: `${mod}.weight_zero_point`, dtype: "I32", shape: [t.weightZeroPoint.length / G, G], data: i32Bytes(t.weightZeroPoint) });
    return { tensors: out, report };
  }
  const t = packGptq(ql, o.format as GptqFormat, name);
  return {
    tensors: [
      { name: `${mod}.qweight`, dtype: "I32", shape: [(K * o.bits) / 32, N], data: i32Bytes(t.qweight) },
      { name: `${mod}.qzeros`, dtype: "I32", shape: [G, (N * o.bits) / 32], data: i32Bytes(t.qzeros) },
      { name: `${mod}.scales`, dtype: "F16", shape: [G, N], data: fromF32(t.scales, "F16") },
      { name: `${mod}.g_idx`, dtype: "I32", shape: [K], data: i32Bytes(t.gIdx) },
    ],
    report,
  };
}

/** Packs `ck` into `outDir` (which must exist and be empty; wrap in writeDirAtomically). */
export async function writePackedCheckpoint(ck: Checkpoint, outDir: string, o: PackOptions): Promise<PackReport> {
  const { spec, weights } = ck;
  if (o.format !== "ct-fp8" && ![2, 4, 8].includes(o.bits)) throw new InputError(`--wbits ${o.bits}: packed formats hold 2, 4 or 8 bits`);
  const scaleDtype: Dtype = o.format === "ct" || o.format === "ct-fp8" ? modelDtypeOf(ck.rawConfig) : "F16";
  const quantMods = new Set<string>();
  for (let i = 0; i < spec.layers; i++) for (const m of quantizableLinears(spec, i)) quantMods.add(m);
  const tensors: TensorSource[] = [];
  const layers: PackedLayerReport[] = [];
  const dense: string[] = [];
  let bytesIn = 0;
  let last: { mod: string; p: Promise<PackedModule> } | undefined;
  const cache = (mod: string, name: string) => {
    if (last?.mod !== mod) last = { mod, p: packModule(weights, mod, name, o, scaleDtype) };
    return last.p;
  };
  for (const name of weights.names()) {
    const info = weights.info(name);
    bytesIn += info.end - info.begin;
    const mod = name.endsWith(".weight") ? name.slice(0, -".weight".length) : "";
    if (!quantMods.has(mod)) {
      tensors.push({ name, dtype: info.dtype, shape: info.shape, bytes: () => weights.bytes(name) });
      continue;
    }
    let packed: PackedModule;
    try {
      packed = await packModule(weights, mod, name, o, scaleDtype);
    } catch (e) {
      if (!(e instanceof Unrepresentable || (e instanceof InputError && /divisible/.test(e.message)))) throw e;
      layers.push({ module: mod, packed: false, reason: e.message });
      dense.push(mod);
      tensors.push({ name, dtype: info.dtype, shape: info.shape, bytes: () => weights.bytes(name) });
      continue;
    }
    layers.push(packed.report);
    // the packed bytes are recomputed when written (one module cached), so memory stays at one layer
    for (const t of packed.tensors) tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: async () => (await cache(mod, name)).tensors.find((x) => x.name === t.name)!.data });
  }
  const files = await writeSharded(outDir, tensors);
  const scheme: PackScheme = o.format === "ct-fp8" ? { bits: 8, groupSize: -1, sym: true } : { bits: o.bits, groupSize: o.groupSize, sym: o.sym };
  const ignore = ["lm_head", ...(spec.moe ? [spec.family === "mixtral" ? "re:.*block_sparse_moe\\.gate$" : "re:.*mlp\\.gate$", "re:.*shared_expert_gate$"] : []), ...dense];
  const qc = o.format === "ct-fp8" ? ctFp8Config(ignore) : o.format === "ct" ? ctConfig(scheme, ignore) : gptqConfig(scheme, o.format, dense, o.version ?? "0.1.0");
  if (!weights.has(LM_HEAD) && !spec.tieEmbeddings) throw new InputError(`${ck.dir}: no ${LM_HEAD} and embeddings are not tied`);
  await writeFile(join(outDir, "config.json"), JSON.stringify({ ...ck.rawConfig, quantization_config: qc }, null, 2) + "\n");
  for (const f of await readdir(ck.dir)) {
    if (/^(tokenizer.*|generation_config\.json|special_tokens_map\.json|vocab\.json|merges\.txt)$/.test(f)) await copyFile(join(ck.dir, f), join(outDir, f));
  }
  let bytesOut = 0;
  for (const t of tensors) bytesOut += byteSize(t.dtype, t.shape) ?? 0;
  return { format: o.format, scheme, files, layers, bytesIn, bytesOut };
}
