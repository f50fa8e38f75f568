/**
 * The layer vocabulary the face-api ports are written in: a growing graph (nodes + initializers) with
 * TensorFlow-semantics helpers on top of ONNX's NCHW ops. TF `'same'` padding is turned into explicit
 * (possibly asymmetric: extra row/column at the bottom/right) ONNX pads from the known spatial size, TF filter
 * layouts (HWIO, depthwise HWC1) are transposed to ONNX's OIHW, and every helper counts parameters and
 * multiply-accumulates so the manifests can state them.
 */
import {
  DataType,
  type DataTypeCode,
  makeNode,
  makeTensor,
  type NodeProto,
  type TensorProto,
} from "../onnx/helper.ts";

/** A feature map flowing through the graph: its edge name and NCHW shape without the batch dimension. */
export interface Feature {
  name: string;
  c: number;
  h: number;
  w: number;
}

/** Nodes and initializers in creation (topological) order, plus running totals for the manifest. */
export interface Graph {
  nodes: NodeProto[];
  initializers: TensorProto[];
  /** Learned values stored in the graph (conv/gemm weights and biases, after batch-norm folding). */
  parameters: number;
  /** Multiply-accumulates per image of convolutions and matrix products. */
  macs: number;
}

/** An empty graph. */
export function createGraph(): Graph {
  return { nodes: [], initializers: [], parameters: 0, macs: 0 };
}

/** Adds an initializer and returns its name; `learned` values count as parameters. */
export function constant(
  g: Graph,
  name: string,
  dims: readonly number[],
  values: ArrayLike<number>,
  { dataType = DataType.FLOAT, learned = false }: { dataType?: DataTypeCode; learned?: boolean } = {},
): string {
  g.initializers.push(makeTensor(name, dataType, dims, values));
  if (learned) g.parameters += values.length;
  return name;
}

/** Adds one node whose single output is named `output`, and returns that name. */
export function op(
  g: Graph,
  opType: string,
  inputs: string[],
  output: string,
  attrs: Parameters<typeof makeNode>[3] = {},
): string {
  g.nodes.push(makeNode(opType, inputs, [output], attrs));
  return output;
}

/** TF `'same'` padding for one axis: output `ceil(in / stride)`, the odd extra pixel goes after. */
export function samePads(size: number, kernel: number, stride: number): [number, number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before, out];
}

/** HWIO `[kh, kw, cin, cout]` (TF conv2d) -> OIHW `[cout, cin, kh, kw]` (ONNX Conv). */
export function hwioToOihw(w: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) {
          out[((o * cin + i) * kh + y) * kw + x] = w[((y * kw + x) * cin + i) * cout + o];
        }
      }
    }
  }
  return out;
}

export interface ConvOptions {
  /** ONNX OIHW weights `[cout, cin / group, kh, kw]`. */
  weights: Float32Array;
  kernel: number;
  cout: number;
  bias?: Float32Array;
  stride?: number;
  /** TF padding mode. */
  padding?: "same" | "valid";
  group?: number;
}

/** A 2-D convolution with TF padding semantics on a known-size feature map; `name` prefixes its edges. */
export function conv(g: Graph, x: Feature, name: string, opts: ConvOptions): Feature {
  const { weights, kernel, cout, bias, stride = 1, padding = "same", group = 1 } = opts;
  const cinPerGroup = x.c / group;
  if (weights.length !== cout * cinPerGroup * kernel * kernel) {
    throw new Error(
      `Cannot build conv "${name}": ${weights.length} weights for [${cout},${cinPerGroup},${kernel},${kernel}]`,
    );
  }
  const [top, bottom, h] = padding === "same"
    ? samePads(x.h, kernel, stride)
    : [0, 0, Math.floor((x.h - kernel) / stride) + 1];
  const [left, right, w] = padding === "same"
    ? samePads(x.w, kernel, stride)
    : [0, 0, Math.floor((x.w - kernel) / stride) + 1];
  const inputs = [
    x.name,
    constant(g, `${name}.weight`, [cout, cinPerGroup, kernel, kernel], weights, { learned: true }),
  ];
  if (bias) inputs.push(constant(g, `${name}.bias`, [cout], bias, { learned: true }));
  op(g, "Conv", inputs, name, {
    dilations: [1, 1],
    group,
    kernel_shape: [kernel, kernel],
    pads: [top, left, bottom, right],
    strides: [stride, stride],
  });
  g.macs += h * w * cout * cinPerGroup * kernel * kernel;
  return { name, c: cout, h, w };
}

/** Element-wise op of two features of the same shape (Add/Sub/Mul) or of a feature and a constant. */
export function binary(g: Graph, opType: string, a: Feature, b: string, name: string): Feature {
  return { ...a, name: op(g, opType, [a.name, b], name) };
}

/** Sum of features left to right, written as TF's nesting `a + (b + (c + d))`. */
export function addNested(g: Graph, xs: Feature[], name: string): Feature {
  let acc = xs[xs.length - 1];
  for (let i = xs.length - 2; i >= 0; i--) acc = binary(g, "Add", xs[i], acc.name, `${name}.add${i}`);
  return acc;
}

/** Relu. */
export function relu(g: Graph, x: Feature, name: string): Feature {
  return { ...x, name: op(g, "Relu", [x.name], name) };
}

/** TF `clipByValue(x, 0, 6)` (ReLU6), as ONNX Clip with shared scalar bounds. */
export function relu6(g: Graph, x: Feature, name: string): Feature {
  if (!g.initializers.some((t) => t.name === "const.zero")) {
    constant(g, "const.zero", [], [0]);
    constant(g, "const.six", [], [6]);
  }
  return { ...x, name: op(g, "Clip", [x.name, "const.zero", "const.six"], name) };
}

/** Transposes the NHWC graph input to NCHW so ONNX convolutions can consume it. */
export function nhwcToNchw(g: Graph, input: string, c: number, h: number, w: number): Feature {
  return { name: op(g, "Transpose", [input], "input.nchw", { perm: [0, 3, 1, 2] }), c, h, w };
}

/** An int64 shape/axes initializer (Reshape, Split). */
export function int64(g: Graph, name: string, values: number[]): string {
  return constant(g, name, [values.length], values, { dataType: DataType.INT64 });
}
