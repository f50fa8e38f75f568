/**
 * An ONNX model as the quantizer edits it: decoded by the project's protobuf schema into plain objects, bytes
 * fields turned back into Uint8Array so that `encodeModel` writes them unchanged, and the plan of what to
 * quantize: every Conv, Gemm and MatMul whose weight (input 1) is a float initializer, their activation inputs
 * and outputs (graph outputs stay float32).
 */
import { DataType, decodeModel, encodeModel, type NodeProto, type TensorProto } from "../onnx/helper.ts";

/** A decoded ONNX model (snake_case fields as in onnx.proto). */
export interface OnnxModel {
  graph: {
    node: NodeProto[];
    initializer: (TensorProto & { float_data?: number[] })[];
    input: { name: string }[];
    output: { name: string; type?: unknown }[];
    [key: string]: unknown;
  };
  opset_import: { domain?: string; version: number }[];
  [key: string]: unknown;
}

function restoreBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(restoreBytes);
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if ((k === "raw_data" || k === "s") && Array.isArray(v)) out[k] = Uint8Array.from(v as number[]);
    else if (k === "strings" && Array.isArray(v)) out[k] = v.map((s) => Uint8Array.from(s as number[]));
    else out[k] = restoreBytes(v);
  }
  return out;
}

/** Decodes ONNX bytes for editing. */
export function readOnnx(bytes: Uint8Array): OnnxModel {
  const model = restoreBytes(decodeModel(bytes)) as OnnxModel;
  model.graph.initializer ??= [];
  model.graph.input ??= [];
  model.graph.output ??= [];
  for (const n of model.graph.node) {
    n.input ??= [];
    n.output ??= [];
    n.attribute ??= [];
  }
  return model;
}

/** Encodes an edited model back to ONNX bytes. */
export function writeOnnx(model: OnnxModel): Uint8Array {
  return encodeModel(model as unknown as Record<string, unknown>);
}

/** The float32 values of an initializer (raw_data or float_data). */
export function floatValues(t: TensorProto & { float_data?: number[] }): Float32Array {
  if (t.raw_data?.length) {
    return new Float32Array(t.raw_data.slice().buffer, 0, t.raw_data.length / 4);
  }
  return Float32Array.from(t.float_data ?? []);
}

/** An integer attribute of a node, or `fallback`. */
export function intAttr(node: NodeProto, name: string, fallback: number): number {
  const a = node.attribute.find((x) => x.name === name);
  return a && typeof a.i === "number" ? a.i : fallback;
}

/** One node to quantize: its weight initializer and the axis of that weight's output channels. */
export interface QuantizedNode {
  node: NodeProto;
  weight: TensorProto;
  /** Axis of the weight that indexes output channels (per-channel scales run along it). */
  axis: number;
}

/** What the quantizer will change: nodes, activation tensors to quantize, and tensors whose range it needs. */
export interface QuantizationPlan {
  nodes: QuantizedNode[];
  /** Activation tensors that get a QuantizeLinear/DequantizeLinear pair. */
  activations: string[];
  /**
   * For a node output consumed only by a Relu: that Relu's output, whose range (>= 0) the output takes, so the
   * quantizer's clamp at the zero point is the ReLU and onnxruntime can drop it.
   */
  reluOf: Map<string, string>;
  /** Every tensor the calibration runs must report. */
  observed: string[];
}

/** The name a node is kept float32 by (`keepFloat`): its name, else its first output. */
export function nodeKey(node: NodeProto): string {
  return node.name || node.output[0];
}

/**
 * Plans the quantization of `model` (see the module comment). Nodes named in `keepFloat` ({@link nodeKey}) stay
 * float32 (mixed precision: the layers whose rounding moves the answer most).
 */
export function planQuantization(
  model: OnnxModel,
  { keepFloat = new Set<string>() }: { keepFloat?: ReadonlySet<string> } = {},
): QuantizationPlan {
  const g = model.graph;
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const consumers = new Map<string, NodeProto[]>();
  for (const n of g.node) {
    for (const i of n.input) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const nodes: QuantizedNode[] = [];
  const activations = new Set<string>();
  for (const node of g.node) {
    const w = inits.get(node.input[1] ?? "");
    if (!w || w.data_type !== DataType.FLOAT || inits.has(node.input[0]) || keepFloat.has(nodeKey(node))) {
      continue;
    }
    let axis: number;
    if (node.op_type === "Conv" && w.dims.length >= 3) axis = 0;
    else if (node.op_type === "MatMul" && w.dims.length === 2) axis = 1;
    else if (node.op_type === "Gemm" && w.dims.length === 2 && intAttr(node, "transA", 0) === 0) {
      axis = intAttr(node, "transB", 0) ? 0 : 1;
    } else continue;
    nodes.push({ node, weight: w, axis });
    activations.add(node.input[0]);
    if (!graphOutputs.has(node.output[0])) activations.add(node.output[0]);
  }
  // A residual Add of two quantized tensors gets its output quantized too, so onnxruntime runs it as QLinearAdd
  // in uint8 instead of dequantizing both sides, adding in float32 and quantizing again for the next Conv.
  for (const node of g.node) {
    if (node.op_type !== "Add" || node.input.length !== 2 || graphOutputs.has(node.output[0])) continue;
    if (node.input.every((i) => activations.has(i) && !inits.has(i))) activations.add(node.output[0]);
  }
  const reluOf = new Map<string, string>();
  for (const t of activations) {
    const c = consumers.get(t) ?? [];
    if (c.length === 1 && c[0].op_type === "Relu" && !graphOutputs.has(t)) reluOf.set(t, c[0].output[0]);
  }
  const observed = [...new Set([...activations, ...reluOf.values()])];
  return { nodes, activations: [...activations], reluOf, observed };
}
