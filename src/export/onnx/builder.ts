// A small ONNX graph builder over onnx-proto 8.0.1 (formats.md §5.4): nodes, typed initializers (inline, or
// appended to an external data file as they are added), IR 10 with opset 21 + com.microsoft 1.

import { closeSync, openSync, writeSync } from "node:fs";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export const T = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, FLOAT16: 10 } as const;
export type Dim = string | number;
type Attr = number | number[] | string | { t: unknown };

/** Tensors larger than this many bytes go to the external data file (when one is used). */
const EXTERNAL_MIN = 1024;
const ALIGN = 64;

export class GraphBuilder {
  readonly nodes: unknown[] = [];
  readonly inits: unknown[] = [];
  readonly inputs: unknown[] = [];
  readonly outputs: unknown[] = [];
  private n = 0;
  private fd: number | undefined;
  private pos = 0;
  /** Bytes of initializer data (inline + external). */
  weightBytes = 0;

  /** `external`: absolute path of the data file and the name the model refers to it by (a bare file name). */
  constructor(private readonly external?: { path: string; location: string }) {
    if (external) this.fd = openSync(external.path, "w");
  }

  /** A fresh value name with a readable prefix. */
  tmp(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  node(opType: string, input: string[], outputs: number | string[], attrs: Record<string, Attr> = {}, domain = "", name?: string): string[] {
    const output = typeof outputs === "number" ? Array.from({ length: outputs }, () => this.tmp(opType)) : outputs;
    const attribute = Object.entries(attrs).map(([k, v]) => attr(k, v));
    this.nodes.push(onnx.NodeProto.create({ opType, input, output, attribute, domain, name: name ?? this.tmp(`n_${opType}`) }));
    return output;
  }

  /** One-output node; returns its output name. */
  op(opType: string, input: string[], attrs: Record<string, Attr> = {}, domain = ""): string {
    return this.node(opType, input, 1, attrs, domain)[0]!;
  }

  init(name: string, dataType: number, dims: number[], bytes: Uint8Array): string {
    this.weightBytes += bytes.byteLength;
    if (this.fd !== undefined && bytes.byteLength >= EXTERNAL_MIN) {
      this.pos = Math.ceil(this.pos / ALIGN) * ALIGN;
      writeSync(this.fd, bytes, 0, bytes.byteLength, this.pos);
      const externalData = [
        { key: "location", value: this.external!.location },
        { key: "offset", value: String(this.pos) },
        { key: "length", value: String(bytes.byteLength) },
      ];
      this.inits.push(onnx.TensorProto.create({ name, dataType, dims, dataLocation: 1, externalData }));
      this.pos += bytes.byteLength;
    } else {
      this.inits.push(onnx.TensorProto.create({ name, dataType, dims, rawData: bytes }));
    }
    return name;
  }

  f32(name: string, dims: number[], v: Float32Array | number[]): string {
    const a = v instanceof Float32Array ? v : Float32Array.from(v);
    return this.init(name, T.FLOAT, dims, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }

  i64(name: string, dims: number[], v: number[]): string {
    const a = BigInt64Array.from(v.map(BigInt));
    return this.init(name, T.INT64, dims, new Uint8Array(a.buffer));
  }

  input(name: string, elemType: number, dims: Dim[]): void {
    this.inputs.push(valueInfo(name, elemType, dims));
  }

  output(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Serialized ModelProto; closes the external data file. */
  finish(graphName: string, producer = "memc"): Uint8Array {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    const graph = onnx.GraphProto.create({ name: graphName, node: this.nodes as never[], initializer: this.inits as never[], input: this.inputs as never[], output: this.outputs as never[] });
    const model = onnx.ModelProto.create({
      irVersion: 10,
      producerName: producer,
      opsetImport: [{ domain: "", version: 21 }, { domain: "com.microsoft", version: 1 }],
      graph,
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, elemType: number, dims: Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } },
  });
}

function attr(name: string, v: Attr) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === "string") return onnx.AttributeProto.create({ name, type: A.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: A.INTS, ints: v });
  if (typeof v === "object") return onnx.AttributeProto.create({ name, type: A.TENSOR, t: v.t as never });
  return Number.isInteger(v) && !Object.is(v, -0) ? onnx.AttributeProto.create({ name, type: A.INT, i: v }) : onnx.AttributeProto.create({ name, type: A.FLOAT, f: v });
}

/** A one-element tensor value for ConstantOfShape. */
export function scalarTensor(dataType: number, value: number): { t: unknown } {
  const bytes = dataType === T.FLOAT ? new Uint8Array(Float32Array.from([value]).buffer) : new Uint8Array(BigInt64Array.from([BigInt(value)]).buffer);
  return { t: onnx.TensorProto.create({ dataType, dims: [1], rawData: bytes }) };
}
