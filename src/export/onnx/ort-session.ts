// onnxruntime-node sessions for exported models, with options that keep fp32 precision (formats.md §0:
// no int8-activation MatMulNBits fusion; accuracy_level 0 on the nodes themselves).

import ort from "onnxruntime-node";

export type OrtDevice = "cpu" | "webgpu";

export async function openOrtSession(modelPath: string, device: OrtDevice = "cpu", threads = 0): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, {
    executionProviders: [device],
    graphOptimizationLevel: "extended",
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    extra: { session: { qdq_matmulnbits_accuracy_level: "0" } },
  });
}

/** ids [B, S] → logits [B, S, V] */
export async function runLogits(session: ort.InferenceSession, ids: ArrayLike<number>, B: number, S: number): Promise<Float32Array> {
  const t = new ort.Tensor("int64", BigInt64Array.from(Array.from(ids, (x) => BigInt(x))), [B, S]);
  const r = await session.run({ input_ids: t });
  return r.logits!.data as Float32Array;
}
