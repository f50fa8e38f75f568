/**
 * The state of one tfjs -> ONNX conversion: the ONNX nodes and initializers written so far, and for every tfjs
 * tensor its ONNX edge, layout and (when known) shape. 4-D feature maps are kept NCHW inside the graph (what
 * ONNX's Conv and pools take); every other tensor keeps its TensorFlow layout ("plain"). `plain()` and `nchw()`
 * bring an edge to the layout an op needs, inserting one cached Transpose when it differs.
 */
import {
  DataType,
  type DataTypeCode,
  makeNode,
  makeTensor,
  type NodeProto,
  type TensorProto,
} from "../onnx/helper.ts";
import type { TfjsGraph, TfjsNode, TfjsWeight } from "./read.ts";

/** A tfjs tensor as the converter tracks it. */
export interface Value {
  edge: string;
  layout: "NCHW" | "plain";
  /** TensorFlow-order shape without the batch dimension, when it is known statically. */
  shape?: number[];
  /** Set for Const nodes: the weight, so ops can fold it into initializers in the layout they need. */
  weight?: TfjsWeight;
}

/** The conversion in progress. */
export interface Context {
  graph: TfjsGraph;
  prefix: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  values: Map<string, Value>;
  /** Learned values in the initializers (weights and biases). */
  parameters: number;
  /** Multiply-accumulates per image of the convolutions. */
  macs: number;
}

/** A fresh context over a parsed graph; `prefix` is put before every ONNX name (for merging graphs). */
export function createContext(graph: TfjsGraph, prefix = ""): Context {
  return { graph, prefix, nodes: [], initializers: [], values: new Map(), parameters: 0, macs: 0 };
}

/** The tfjs tensor a node input names ("x", "x:0"; control inputs "^x" are skipped by the caller). */
export function inputName(ref: string): string {
  return ref.replace(/:0$/, "");
}

/** The non-control inputs of a node, resolved. */
export function inputs(ctx: Context, node: TfjsNode): Value[] {
  return (node.input ?? []).filter((r) => !r.startsWith("^")).map((r) => {
    if (/:[1-9]\d*$/.test(r)) {
      throw new Error(
        `Cannot convert tfjs node "${node.name}": input "${r}" is a second output (unsupported)`,
      );
    }
    const v = ctx.values.get(inputName(r));
    if (!v) throw new Error(`Cannot convert tfjs node "${node.name}": input "${r}" is not defined before it`);
    return v;
  });
}

/** A new unique ONNX edge name derived from a tfjs name. */
export function edgeName(ctx: Context, base: string): string {
  return `${ctx.prefix}${base}`;
}

/** Adds an initializer (named after `base`) and returns its edge; `learned` counts its values as parameters. */
export function initializer(
  ctx: Context,
  base: string,
  dims: readonly number[],
  values: ArrayLike<number>,
  { dataType = DataType.FLOAT as DataTypeCode, learned = false } = {},
): string {
  const name = edgeName(ctx, base);
  if (!ctx.initializers.some((t) => t.name === name)) {
    ctx.initializers.push(makeTensor(name, dataType, dims, values));
    if (learned) ctx.parameters += values.length;
  }
  return name;
}

/** Adds one node and returns its (single) output edge. */
export function emit(
  ctx: Context,
  opType: string,
  ins: string[],
  base: string,
  attrs: Parameters<typeof makeNode>[3] = {},
): string {
  const out = edgeName(ctx, base);
  ctx.nodes.push(makeNode(opType, ins, [out], attrs));
  return out;
}

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

/** The value as a tensor in TensorFlow layout (a Const becomes an initializer as stored). */
export function plain(ctx: Context, v: Value): string {
  if (v.weight) {
    return initializer(ctx, v.edge.slice(ctx.prefix.length), v.weight.shape, v.weight.values, {
      dataType: v.weight.dtype === "int32" ? DataType.INT32 : DataType.FLOAT,
    });
  }
  if (v.layout === "plain") return v.edge;
  return once(ctx, "Transpose", v.edge, `${v.edge.slice(ctx.prefix.length)}/nhwc`, TO_NHWC);
}

/** A layout Transpose, written once per edge however many consumers need it. */
function once(ctx: Context, opType: string, input: string, base: string, perm: number[]): string {
  const out = edgeName(ctx, base);
  if (!ctx.nodes.some((n) => n.output[0] === out)) ctx.nodes.push(makeNode(opType, [input], [out], { perm }));
  return out;
}

/** The value as an NCHW feature map (it must be 4-D). */
export function nchw(ctx: Context, v: Value, node: TfjsNode): string {
  if (v.layout === "NCHW") return v.edge;
  const rank = v.weight ? v.weight.shape.length : v.shape ? v.shape.length + 1 : undefined;
  if (rank !== 4) {
    throw new Error(
      `Cannot convert tfjs node "${node.name}": it needs a 4-D input, got rank ${rank ?? "unknown"}`,
    );
  }
  const edge = plain(ctx, v);
  return once(ctx, "Transpose", edge, `${edge.slice(ctx.prefix.length)}/nchw`, TO_NCHW);
}

/** A Const input's weight, or a clear error when the op needs a constant there. */
export function constant(v: Value, node: TfjsNode, what: string): TfjsWeight {
  if (!v.weight) throw new Error(`Cannot convert tfjs node "${node.name}": its ${what} is not a constant`);
  return v.weight;
}
