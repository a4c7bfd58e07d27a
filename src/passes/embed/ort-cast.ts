// onnxruntime's own float8 cast (ONNX Cast float → FLOAT8E4M3FN/E5M2 → float, opset 19, saturate=1): the
// independent peer for memc's codec in tests and bench/embed (x [n] fp32 → round-tripped fp32 [n]).

import ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import type { Float8Format } from "../../runtime/float8.js";

const { onnx } = onnxProto;
const FLOAT = 1;
const FLOAT8E4M3FN = 17;
const FLOAT8E5M2 = 19;

function castGraph(fmt: Float8Format): Uint8Array {
  const to = fmt === "e4m3" ? FLOAT8E4M3FN : FLOAT8E5M2;
  const attr = (name: string, i: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
  const vi = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: "N" }] } } } });
  const graph = onnx.GraphProto.create({
    name: "float8_roundtrip",
    node: [
      onnx.NodeProto.create({ opType: "Cast", input: ["x"], output: ["q"], attribute: [attr("to", to), attr("saturate", 1)] }),
      onnx.NodeProto.create({ opType: "Cast", input: ["q"], output: ["y"], attribute: [attr("to", FLOAT)] }),
    ],
    input: [vi("x")],
    output: [vi("y")],
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 9, opsetImport: [{ domain: "", version: 19 }], graph })).finish();
}

const sessions = new Map<Float8Format, Promise<ort.InferenceSession>>();

/** x [n] → decode(cast_float8(x)) [n], computed by onnxruntime. */
export async function ortFloat8RoundTrip(x: Float32Array, fmt: Float8Format): Promise<Float32Array> {
  let s = sessions.get(fmt);
  if (!s) {
    s = ort.InferenceSession.create(castGraph(fmt), { graphOptimizationLevel: "disabled" });
    sessions.set(fmt, s);
  }
  const r = await (await s).run({ x: new ort.Tensor("float32", x, [x.length]) });
  return r.y!.data as Float32Array;
}
