// Small ONNX graphs built with onnx-proto that onnxruntime's CPU EP runs as memc's CPU compute engine
// (MLAS GEMM: ~100–260 GFLOP/s on 2 cores vs ~1 for a JS loop). Each graph has a plain-TS oracle in cpu/reference.

import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
const FLOAT = 1;
const INT64 = 7;

type Dim = string | number;

function valueInfo(name: string, elemType: number, dims: Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } },
  });
}

function node(opType: string, input: string[], output: string[], attrs: Record<string, number | number[]> = {}, domain = "") {
  const attribute = Object.entries(attrs).map(([name, v]) =>
    Array.isArray(v)
      ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v })
      : Number.isInteger(v)
        ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v })
        : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v }),
  );
  return onnx.NodeProto.create({ opType, input, output, attribute, domain });
}

function model(nodes: ReturnType<typeof node>[], inputs: ReturnType<typeof valueInfo>[], outputs: ReturnType<typeof valueInfo>[], initializer: unknown[] = []): Uint8Array {
  const graph = onnx.GraphProto.create({ name: "memc", node: nodes, input: inputs, output: outputs, initializer: initializer as never[] });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }], graph })).finish();
}

/** y = x · wᵀ : x [M, K], w [N, K] → [M, N] */
export function linearGraph(): Uint8Array {
  return model([node("Gemm", ["x", "w"], ["y"], { transB: 1 })], [valueInfo("x", FLOAT, ["M", "K"]), valueInfo("w", FLOAT, ["N", "K"])], [valueInfo("y", FLOAT, ["M", "N"])]);
}

/** c = a · b : a [B, M, K], b [B, K, N] → [B, M, N] (batched) */
export function matmulGraph(): Uint8Array {
  return model([node("MatMul", ["a", "b"], ["c"])], [valueInfo("a", FLOAT, ["B", "M", "K"]), valueInfo("b", FLOAT, ["B", "K", "N"])], [valueInfo("c", FLOAT, ["B", "M", "N"])]);
}

/** Causal attention over [H, S, Dh] heads (K/V already expanded to H): softmax(q·kᵀ·scale + mask)·v.
 *  mask: [S, S] additive (0 on/below the diagonal, -inf above). */
export function attentionGraph(scale: number): Uint8Array {
  const scaleInit = onnx.TensorProto.create({ name: "scale", dataType: FLOAT, dims: [], floatData: [scale] });
  return model(
    [
      node("Transpose", ["k"], ["kt"], { perm: [0, 2, 1] }),
      node("MatMul", ["q", "kt"], ["s0"]),
      node("Mul", ["s0", "scale"], ["s1"]),
      node("Add", ["s1", "mask"], ["s2"]),
      node("Softmax", ["s2"], ["p"], { axis: -1 }),
      node("MatMul", ["p", "v"], ["o"]),
    ],
    [valueInfo("q", FLOAT, ["H", "S", "D"]), valueInfo("k", FLOAT, ["H", "S", "D"]), valueInfo("v", FLOAT, ["H", "S", "D"]), valueInfo("mask", FLOAT, ["S", "S"])],
    [valueInfo("o", FLOAT, ["H", "S", "D"])],
    [scaleInit],
  );
}

/** Per-token NLL of lm_head logits: h [S, D], w [V, D], targets int64 [S, 1] → nll [S, 1]. */
export function nllGraph(): Uint8Array {
  return model(
    [
      node("Gemm", ["h", "w"], ["logits"], { transB: 1 }),
      node("LogSoftmax", ["logits"], ["logp"], { axis: -1 }),
      node("GatherElements", ["logp", "targets"], ["picked"], { axis: 1 }),
      node("Neg", ["picked"], ["nll"]),
    ],
    [valueInfo("h", FLOAT, ["S", "D"]), valueInfo("w", FLOAT, ["V", "D"]), valueInfo("targets", INT64, ["S", 1])],
    [valueInfo("nll", FLOAT, ["S", 1])],
  );
}

/** silu(g) ⊙ u = g · sigmoid(g) · u : g, u [N] → [N] (vectorised in MLAS; Math.exp in JS is ~20x slower) */
export function swigluGraph(): Uint8Array {
  return model(
    [node("Sigmoid", ["g"], ["s"]), node("Mul", ["g", "s"], ["gs"]), node("Mul", ["gs", "u"], ["y"])],
    [valueInfo("g", FLOAT, ["N"]), valueInfo("u", FLOAT, ["N"])],
    [valueInfo("y", FLOAT, ["N"])],
  );
}
