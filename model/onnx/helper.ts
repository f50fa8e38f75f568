/**
 * A small ONNX graph builder in the spirit of onnx's `helper.py`: plain objects for nodes, tensors and value
 * infos, string edges, attributes sorted by name, weights as initializers, and `encodeModel` writing protobuf
 * through protobufjs. The same inputs always give byte-identical files.
 */
import { ModelProto } from "./proto.ts";

/** ONNX `TensorProto.DataType` codes used by this project. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** Attribute values a node can carry; numbers that are integers become INT, others FLOAT (use `float()`). */
export type AttrValue = number | string | number[] | string[] | TensorProto | FloatAttr | FloatsAttr;
interface FloatAttr {
  kind: "float";
  value: number;
}
interface FloatsAttr {
  kind: "floats";
  value: number[];
}

/** Marks a number (or list) as a FLOAT attribute even when it happens to be an integer, e.g. `alpha: float(1)`. */
export function float(value: number): FloatAttr;
export function float(value: number[]): FloatsAttr;
export function float(value: number | number[]): FloatAttr | FloatsAttr {
  return Array.isArray(value) ? { kind: "floats", value } : { kind: "float", value };
}

export interface TensorProto {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}
export interface NodeProto {
  op_type: string;
  input: string[];
  output: string[];
  name?: string;
  domain?: string;
  attribute: Record<string, unknown>[];
}
export interface ValueInfoProto {
  name: string;
  type: {
    tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } };
  };
}
export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  doc_string?: string;
}
export interface ModelOptions {
  opset?: number;
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

function isTensor(v: unknown): v is TensorProto {
  return typeof v === "object" && v !== null && "raw_data" in v;
}

function makeAttribute(name: string, value: AttrValue): Record<string, unknown> {
  if (typeof value === "number") {
    return Number.isInteger(value) ? { name, type: 2, i: value } : { name, type: 1, f: value };
  }
  if (typeof value === "string") return { name, type: 3, s: new TextEncoder().encode(value) };
  if (isTensor(value)) return { name, type: 4, t: value };
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === "string")) {
      return { name, type: 8, strings: (value as string[]).map((s) => new TextEncoder().encode(s)) };
    }
    const nums = value as number[];
    return nums.every(Number.isInteger) ? { name, type: 7, ints: nums } : { name, type: 6, floats: nums };
  }
  if (value.kind === "float") return { name, type: 1, f: value.value };
  return { name, type: 6, floats: value.value };
}

/** One node: `makeNode("Conv", ["x", "w"], ["y"], { pads: [1, 1, 1, 1] })`. Attributes are sorted by name. */
export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, AttrValue | undefined> = {},
  { name, domain }: { name?: string; domain?: string } = {},
): NodeProto {
  const attribute = Object.keys(attrs).sort()
    .filter((k) => attrs[k] !== undefined)
    .map((k) => makeAttribute(k, attrs[k] as AttrValue));
  return { op_type: opType, input: inputs, output: outputs, name: name ?? outputs[0], domain, attribute };
}

function toBytes(dataType: number, values: ArrayLike<number> | Uint8Array | bigint[]): Uint8Array {
  switch (dataType) {
    case DataType.FLOAT:
      return new Uint8Array(Float32Array.from(values as ArrayLike<number>).buffer);
    case DataType.FLOAT16:
      return new Uint8Array(Uint16Array.from(values as ArrayLike<number>, toHalf).buffer);
    case DataType.INT64:
      return new Uint8Array(BigInt64Array.from(values as ArrayLike<number>, (v) => BigInt(v)).buffer);
    case DataType.INT32:
      return new Uint8Array(Int32Array.from(values as ArrayLike<number>).buffer);
    case DataType.UINT8:
    case DataType.BOOL:
      return Uint8Array.from(values as ArrayLike<number>);
    case DataType.INT8:
      return new Uint8Array(Int8Array.from(values as ArrayLike<number>).buffer);
    default:
      throw new Error(`Cannot make tensor: unsupported data type ${dataType}`);
  }
}

/** A tensor (initializer or constant); `values` are written little-endian as `raw_data`. */
export function makeTensor(
  name: string,
  dataType: DataTypeCode,
  dims: readonly number[],
  values: ArrayLike<number>,
): TensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  if (values.length !== count) {
    throw new Error(`Cannot make tensor "${name}": ${values.length} values for shape [${dims.join(",")}]`);
  }
  return { name, dims: [...dims], data_type: dataType, raw_data: toBytes(dataType, values) };
}

/** A graph input/output description; a string dimension is symbolic (e.g. "N"). */
export function makeValueInfo(
  name: string,
  elemType: DataTypeCode,
  shape: readonly (number | string)[],
): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: shape.map((d) => typeof d === "number" ? { dim_value: d } : { dim_param: d }) },
      },
    },
  };
}

/** A graph from nodes (in topological order), its inputs, outputs and initializers. */
export function makeGraph(
  nodes: NodeProto[],
  name: string,
  inputs: ValueInfoProto[],
  outputs: ValueInfoProto[],
  initializers: TensorProto[] = [],
): GraphProto {
  return { name, node: nodes, input: inputs, output: outputs, initializer: initializers };
}

/** A model proto object ready for `encodeModel`; opset 17 and IR 8 by default. */
export function makeModel(
  graph: GraphProto,
  {
    opset = 17,
    irVersion = 8,
    producerName = "scan-fer",
    producerVersion = "0.1.0",
    docString,
    metadata = {},
  }: ModelOptions = {},
): Record<string, unknown> {
  return {
    ir_version: irVersion,
    producer_name: producerName,
    producer_version: producerVersion,
    doc_string: docString,
    graph,
    opset_import: [{ domain: "", version: opset }],
    metadata_props: Object.keys(metadata).sort().map((key) => ({ key, value: metadata[key] })),
  };
}

/** Serialises a model to ONNX protobuf bytes (verified against the schema first). */
export function encodeModel(model: Record<string, unknown>): Uint8Array {
  const message = ModelProto.fromObject(model);
  return ModelProto.encode(message).finish();
}

/** Decodes ONNX bytes into a plain object (snake_case fields); for tests and inspection. */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Array, defaults: false });
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float32 -> IEEE half bits, round-to-nearest-even (used for the fp16 export). */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && (half & 1)) ? 1 : 0));
  }
  const half = mant >>> 13;
  const rem = mant & 0x1fff;
  let out = (e << 10) | half;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) out++;
  e = out;
  return sign | e;
}
