/**
 * SCAN+CCI (Gera & Balasubramanian, ABAW 2020) as an ONNX graph, written like torchvision's resnet.py: small
 * helpers (`conv`, `batchNorm`), a `bottleneck`, `makeLayer`, then the two branches and the model. The math is the
 * reference code's: ResNet-50 up to layer3; SCAN (Conv3x3 -> PReLU -> BN -> Sigmoid, times its input) on 25 local
 * patches of layer2 (max over their GAPs) and on the whole map (GAP); L2-normalised concat -> Linear; CCI = ECA on
 * layer3, four 7x7 quadrants -> GAP -> shared MLP. Outputs: `logits` (mean of the 5 heads), `head_logits`
 * (attention, TL, TR, BL, BR) and `attention_map` (channel mean of the global SCAN weights).
 *
 * The 25 local SCAN convs (local.ts) run as gathers of zero-padded 6x6 im2col canvases and one
 * prepackable MatMul per patch; graph-building helpers live in graph.ts.
 */
import { DataType, encodeModel, float, makeGraph, makeModel, makeValueInfo } from "../onnx/helper.ts";
import { BN_EPS, type Ctx, floatInit, int64Init, op, param } from "./graph.ts";
import { localScan } from "./local.ts";
import {
  CCI_REGIONS,
  EXPANSION,
  LAYER_STRIDES,
  RESNET50_LAYERS,
  scanCciChannels,
  type TensorData,
} from "./params.ts";
import { resolveScanCciWeights } from "./weights.ts";

const NORMALIZE_EPS = 1e-12;

function conv(ctx: Ctx, x: string, key: string, out: string, { stride = 1, pad = 0 } = {}): string {
  const w = param(ctx, key);
  const [co, , k] = ctx.shapes.get(w)!;
  const [, , h, wd] = ctx.shapes.get(x)!;
  const size = (s: number) => Math.floor((s + 2 * pad - k) / stride) + 1;
  return op(ctx, "Conv", [x, w], out, [1, co, size(h), size(wd)], {
    dilations: [1, 1],
    group: 1,
    kernel_shape: [k, k],
    pads: [pad, pad, pad, pad],
    strides: [stride, stride],
  });
}

function batchNorm(ctx: Ctx, x: string, prefix: string, out: string): string {
  const inputs = ["weight", "bias", "running_mean", "running_var"].map((s) => param(ctx, `${prefix}.${s}`));
  return op(ctx, "BatchNormalization", [x, ...inputs], out, ctx.shapes.get(x)!, { epsilon: float(BN_EPS) });
}

function relu(ctx: Ctx, x: string, out = `${x}.relu`): string {
  return op(ctx, "Relu", [x], out, ctx.shapes.get(x)!);
}

function bottleneck(ctx: Ctx, x: string, prefix: string, { stride = 1, downsample = false } = {}): string {
  const p = `base.${prefix}`;
  let y = relu(
    ctx,
    batchNorm(ctx, conv(ctx, x, `${p}.conv1.weight`, `${prefix}.conv1`), `${p}.bn1`, `${prefix}.bn1`),
  );
  y = relu(
    ctx,
    batchNorm(
      ctx,
      conv(ctx, y, `${p}.conv2.weight`, `${prefix}.conv2`, { stride, pad: 1 }),
      `${p}.bn2`,
      `${prefix}.bn2`,
    ),
  );
  y = batchNorm(ctx, conv(ctx, y, `${p}.conv3.weight`, `${prefix}.conv3`), `${p}.bn3`, `${prefix}.bn3`);
  const identity = downsample
    ? batchNorm(
      ctx,
      conv(ctx, x, `${p}.downsample.0.weight`, `${prefix}.downsample.0`, { stride }),
      `${p}.downsample.1`,
      `${prefix}.downsample.1`,
    )
    : x;
  return relu(ctx, op(ctx, "Add", [y, identity], `${prefix}.add`, ctx.shapes.get(y)!), prefix);
}

function makeLayer(
  ctx: Ctx,
  x: string,
  index: number,
  planes: number,
  blocks: number,
  stride: number,
): string {
  const inplanes = ctx.shapes.get(x)![1];
  let y = bottleneck(ctx, x, `layer${index}.0`, {
    stride,
    downsample: stride !== 1 || inplanes !== planes * EXPANSION,
  });
  for (let b = 1; b < blocks; b++) y = bottleneck(ctx, y, `layer${index}.${b}`);
  return y;
}

/** ResNet-50 stem + layer1..layer3; returns the layer2 (F_u) and layer3 (F_l) edges. */
function resnetTrunk(ctx: Ctx, x: string, planes: number[]): { fu: string; fl: string } {
  let y = relu(
    ctx,
    batchNorm(ctx, conv(ctx, x, "base.conv1.weight", "conv1", { stride: 2, pad: 3 }), "base.bn1", "bn1"),
  );
  const [, c, h] = ctx.shapes.get(y)!;
  const pooled = Math.floor((h + 2 - 3) / 2) + 1;
  y = op(ctx, "MaxPool", [y], "maxpool", [1, c, pooled, pooled], {
    kernel_shape: [3, 3],
    pads: [1, 1, 1, 1],
    strides: [2, 2],
  });
  const outs: string[] = [];
  RESNET50_LAYERS.forEach((blocks, li) => {
    y = makeLayer(ctx, y, li + 1, planes[li], blocks, LAYER_STRIDES[li]);
    outs.push(y);
  });
  return { fu: outs[1], fl: outs[2] };
}

/** SCAN's weights on a whole map: Conv3x3 -> PReLU -> BatchNorm -> Sigmoid. */
function scanWeights(ctx: Ctx, x: string, prefix: string): string {
  const c = ctx.shapes.get(x)![1];
  let y = conv(ctx, x, `${prefix}.attention.0.weight`, `${prefix}.conv`, { pad: 1 });
  y = op(
    ctx,
    "PRelu",
    [y, param(ctx, `${prefix}.attention.1.weight`, [c, 1, 1])],
    `${prefix}.prelu`,
    ctx.shapes.get(y)!,
  );
  y = batchNorm(ctx, y, `${prefix}.attention.2`, `${prefix}.bn`);
  return op(ctx, "Sigmoid", [y], `${prefix}.sigmoid`, ctx.shapes.get(y)!);
}

/** Attention branch: V_l, V_g from the global SCAN, L2-normalised concat -> fc. Also returns the SCAN weights. */
function attentionBranch(ctx: Ctx, fu: string): { logits: string; weights: string } {
  const c = ctx.shapes.get(fu)![1];
  const vl = localScan(ctx, fu);
  const weights = scanWeights(ctx, fu, "attention.global_attention_mask");
  let g = op(ctx, "Mul", [weights, fu], "global.attended", ctx.shapes.get(fu)!);
  g = op(ctx, "GlobalAveragePool", [g], "global.gap", [1, c, 1, 1]);
  g = op(ctx, "Flatten", [g], "global.vec", [1, c], { axis: 1 });
  let cat = op(ctx, "Concat", [vl, g], "attention.concat", [1, 2 * c], { axis: 1 });
  // In an fp16 model the normalisation and fc run in float32: a sum of 1024 squares can exceed half's 65504, and
  // F.normalize's eps (1e-12) is not representable in half. They cost nothing next to the convolutions.
  const half = ctx.fdt === DataType.FLOAT16;
  if (half) cat = op(ctx, "Cast", [cat], "attention.concat_f32", [1, 2 * c], { to: DataType.FLOAT });
  const fdt = ctx.fdt;
  ctx.fdt = DataType.FLOAT;
  let norm = op(ctx, "ReduceL2", [cat], "attention.norm", [1, 1], { axes: [1], keepdims: 1 });
  norm = op(ctx, "Max", [norm, floatInit(ctx, "attention.eps", [], [NORMALIZE_EPS])], "attention.norm_eps", [
    1,
    1,
  ]);
  const unit = op(ctx, "Div", [cat, norm], "attention.normalized", [1, 2 * c]);
  const classes = ctx.weights.get("attention.fc.weight")!.shape[0];
  const fc = [unit, param(ctx, "attention.fc.weight"), param(ctx, "attention.fc.bias")];
  let logits = op(ctx, "Gemm", fc, "attention.fc", [1, classes], { transB: 1 });
  ctx.fdt = fdt;
  if (half) logits = op(ctx, "Cast", [logits], "attention.logits", [1, classes], { to: DataType.FLOAT16 });
  return { logits, weights };
}

/** CCI: ECA channel attention on layer3, four 7x7 quadrant GAPs (TL, TR, BL, BR), shared MLP -> [N, 4, classes]. */
function regionBranch(ctx: Ctx, fl: string): string {
  const [, d, h] = ctx.shapes.get(fl)!;
  let e = op(ctx, "GlobalAveragePool", [fl], "eca.gap", [1, d, 1, 1]);
  e = op(ctx, "Reshape", [e, int64Init(ctx, "eca.seq_shape", [-1, 1, d])], "eca.seq", [1, 1, d]);
  const k = ctx.weights.get("region.eca.conv.weight")!.shape[2];
  e = op(ctx, "Conv", [e, param(ctx, "region.eca.conv.weight")], "eca.conv", [1, 1, d], {
    dilations: [1],
    group: 1,
    kernel_shape: [k],
    pads: [(k - 1) / 2, (k - 1) / 2],
    strides: [1],
  });
  e = op(ctx, "Sigmoid", [e], "eca.sigmoid", [1, 1, d]);
  e = op(ctx, "Reshape", [e, int64Init(ctx, "eca.scale_shape", [-1, d, 1, 1])], "eca.scale", [1, d, 1, 1]);
  let x = op(ctx, "Mul", [fl, e], "eca.out", [1, d, h, h]);
  const r = h / 2;
  x = op(ctx, "Reshape", [x, int64Init(ctx, "region.grid_shape", [-1, d, 2, r, 2, r])], "region.grid", [
    1,
    d,
    2,
    r,
    2,
    r,
  ]);
  x = op(ctx, "ReduceMean", [x], "region.gap", [1, d, 2, 2], { axes: [3, 5], keepdims: 0 });
  x = op(ctx, "Reshape", [x, int64Init(ctx, "region.vec_shape", [-1, d, CCI_REGIONS])], "region.vec", [
    1,
    d,
    CCI_REGIONS,
  ]);
  x = op(ctx, "Transpose", [x], "region.rows", [1, CCI_REGIONS, d], { perm: [0, 2, 1] });
  const layer = (input: string, i: number, out: string) => {
    const w = ctx.weights.get(`region.region_net.${i}.weight`)!;
    const [o, n] = w.shape;
    const wt = new Float32Array(n * o);
    for (let a = 0; a < o; a++) for (let b = 0; b < n; b++) wt[b * o + a] = w.data[a * n + b];
    const mm = op(
      ctx,
      "MatMul",
      [input, floatInit(ctx, `region.region_net.${i}.weight_t`, [n, o], wt)],
      `${out}.mm`,
      [
        1,
        CCI_REGIONS,
        o,
      ],
    );
    return op(ctx, "Add", [mm, param(ctx, `region.region_net.${i}.bias`)], out, [1, CCI_REGIONS, o]);
  };
  return layer(relu(ctx, layer(x, 0, "region.fc1")), 2, "region.logits");
}

/** Result of `scanCciModel`: the ONNX model object, its bytes, and what the manifest needs to know. */
export interface ScanCciModel {
  bytes: Uint8Array;
  width: number;
  classes: number;
  /** Multiply-adds x 2 of every Conv/MatMul/Gemm, for one 224x224 image. */
  flopsPerImage: number;
}

/**
 * Builds SCAN+CCI from weights named as in `scanCciParamSpecs` (checked by `resolveScanCciWeights`). `fp16`
 * stores weights and computes in float16 with float32 I/O (a Cast after `input` and before each output).
 * Opset 17, IR 8; the same weights and options always give the same bytes.
 */
export function scanCciModel(
  weights: Map<string, TensorData>,
  { fp16 = false, width, classes, metadata = {} }: {
    fp16?: boolean;
    width?: number;
    classes?: number;
    metadata?: Record<string, string>;
  } = {},
): ScanCciModel {
  const resolved = resolveScanCciWeights(weights, { width, classes });
  const ctx: Ctx = {
    nodes: [],
    inits: [],
    shapes: new Map([["input", [1, 3, 224, 224]]]),
    weights: resolved.tensors,
    fdt: fp16 ? DataType.FLOAT16 : DataType.FLOAT,
  };
  const ch = scanCciChannels(resolved.width);
  const x = fp16
    ? op(ctx, "Cast", ["input"], "input.f16", [1, 3, 224, 224], { to: DataType.FLOAT16 })
    : "input";
  const { fu, fl } = resnetTrunk(ctx, x, ch.planes);
  const attention = attentionBranch(ctx, fu);
  const region = regionBranch(ctx, fl);
  const n = resolved.classes;
  const sfx = fp16 ? ".f16" : "";
  const att = op(
    ctx,
    "Unsqueeze",
    [attention.logits, int64Init(ctx, "attention.axes", [1])],
    "attention.head",
    [1, 1, n],
  );
  const heads = op(ctx, "Concat", [att, region], `head_logits${sfx}`, [1, 5, n], { axis: 1 });
  op(ctx, "ReduceMean", [heads], `logits${sfx}`, [1, n], { axes: [1], keepdims: 0 });
  op(ctx, "ReduceMean", [attention.weights], `attention_map${sfx}`, [1, 28, 28], { axes: [1], keepdims: 0 });
  if (fp16) {
    for (const out of ["logits", "head_logits", "attention_map"]) {
      op(ctx, "Cast", [`${out}${sfx}`], out, ctx.shapes.get(`${out}${sfx}`)!, { to: DataType.FLOAT });
    }
  }
  const graph = makeGraph(
    ctx.nodes,
    "scan_cci",
    [makeValueInfo("input", DataType.FLOAT, ["N", 3, 224, 224])],
    [
      makeValueInfo("logits", DataType.FLOAT, ["N", n]),
      makeValueInfo("head_logits", DataType.FLOAT, ["N", 5, n]),
      makeValueInfo("attention_map", DataType.FLOAT, ["N", 28, 28]),
    ],
    ctx.inits,
  );
  const bytes = encodeModel(makeModel(graph, { docString: "SCAN+CCI facial expression model", metadata }));
  return { bytes, width: resolved.width, classes: n, flopsPerImage: countFlops(ctx) };
}

function countFlops(ctx: Ctx): number {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  let macs = 0;
  for (const node of ctx.nodes) {
    const out = ctx.shapes.get(node.output[0])!;
    if (node.op_type === "Conv") macs += size(out) * size(ctx.shapes.get(node.input[1])!.slice(1));
    else if (node.op_type === "MatMul") macs += size(out) * ctx.shapes.get(node.input[0])!.at(-1)!;
    else if (node.op_type === "Gemm") macs += size(out) * ctx.shapes.get(node.input[1])![1];
  }
  return 2 * macs;
}
