// fp32 GEMMs for training (forward and backward) on onnxruntime's CPU EP (MLAS), with the transposes the
// backward needs done inside the graph: 2-D Gemm(transA, transB) and batched MatMul with optional transposes.
// Follows the engine pattern of src/runtime/cpu/engine/ort-engine.ts; the JS-loop oracle is in test/unit/grad-*.

import ort from "onnxruntime-node";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
const FLOAT = 1;

function vi(name: string, dims: string[]) {
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimParam: d })) } } } });
}

function intAttr(name: string, i: number) {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
}

function encode(nodes: unknown[], inputs: unknown[], outputs: unknown[]): Uint8Array {
  const graph = onnx.GraphProto.create({ name: "memc-train", node: nodes as never[], input: inputs as never[], output: outputs as never[] });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }, { domain: "com.microsoft", version: 1 }], graph })).finish();
}

/** c = op(a)·op(b), 2-D. */
function gemmGraph(tA: boolean, tB: boolean): Uint8Array {
  const n = onnx.NodeProto.create({ opType: "Gemm", input: ["a", "b"], output: ["c"], attribute: [intAttr("transA", tA ? 1 : 0), intAttr("transB", tB ? 1 : 0)] });
  return encode([n], [vi("a", ["A0", "A1"]), vi("b", ["B0", "B1"])], [vi("c", ["C0", "C1"])]);
}

/** c = op(a)·op(b), batched over the leading dim: onnxruntime's com.microsoft FusedMatMul, whose transA/transB
 *  go straight to MLAS (an ONNX Transpose node in front of MatMul measured 3–10x slower here). */
function bmmGraph(tA: boolean, tB: boolean): Uint8Array {
  const n = onnx.NodeProto.create({ opType: "FusedMatMul", domain: "com.microsoft", input: ["a", "b"], output: ["c"], attribute: [intAttr("transA", tA ? 1 : 0), intAttr("transB", tB ? 1 : 0)] });
  return encode([n], [vi("a", ["A0", "A1", "A2"]), vi("b", ["B0", "B1", "B2"])], [vi("c", ["C0", "C1", "C2"])]);
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();

function threads(): number {
  const env = Number(process.env.MEMC_CPU_THREADS);
  return Number.isInteger(env) && env > 0 ? env : 0;
}

function session(key: string, build: () => Uint8Array): Promise<ort.InferenceSession> {
  let s = sessions.get(key);
  if (!s) {
    s = ort.InferenceSession.create(build(), { intraOpNumThreads: threads(), interOpNumThreads: 1, graphOptimizationLevel: "basic" });
    sessions.set(key, s);
  }
  return s;
}

const t = (data: Float32Array, dims: number[]) => new ort.Tensor("float32", data, dims);

/** c [M, N] = op(a)·op(b); a is [M, K] (or [K, M] when tA), b is [K, N] (or [N, K] when tB). */
export async function gemm(a: Float32Array, b: Float32Array, M: number, K: number, N: number, tA = false, tB = false): Promise<Float32Array> {
  if (a.length !== M * K || b.length !== K * N) throw new Error(`gemm: a has ${a.length} (want ${M}·${K}), b has ${b.length} (want ${K}·${N})`);
  const s = await session(`gemm:${tA}:${tB}`, () => gemmGraph(tA, tB));
  const r = await s.run({ a: t(a, tA ? [K, M] : [M, K]), b: t(b, tB ? [N, K] : [K, N]) });
  return r.c!.data as Float32Array;
}

/** c [B, M, N] = op(a)·op(b) per batch; a is [B, M, K] (or [B, K, M] when tA), b is [B, K, N] (or [B, N, K] when tB). */
export async function bmm(a: Float32Array, b: Float32Array, B: number, M: number, K: number, N: number, tA = false, tB = false, out?: Float32Array): Promise<Float32Array> {
  if (a.length !== B * M * K || b.length !== B * K * N) throw new Error(`bmm: a has ${a.length} (want ${B}·${M}·${K}), b has ${b.length} (want ${B}·${K}·${N})`);
  const s = await session(`bmm:${tA}:${tB}`, () => bmmGraph(tA, tB));
  const feeds = { a: t(a, tA ? [B, K, M] : [B, M, K]), b: t(b, tB ? [B, N, K] : [B, K, N]) };
  if (out) {
    // caller-owned output buffer: onnxruntime writes into it (no fresh allocation per call for the big [H, T, T] products)
    if (out.length !== B * M * N) throw new Error(`bmm: out has ${out.length}, want ${B}·${M}·${N}`);
    await s.run(feeds, { c: t(out, [B, M, N]) });
    return out;
  }
  const r = await s.run(feeds);
  return r.c!.data as Float32Array;
}

export async function releaseTrainEngine(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  for (const s of all) await (await s).release();
}
