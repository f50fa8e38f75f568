/**
 * SCAN+CCI (Gera & Balasubramanian, ABAW 2020) as an ONNX graph, written like torchvision's resnet.py: small
 * helpers (`conv`, `batchNorm`), a `bottleneck`, `makeLayer`, then the two branches and the model. The math is the
 * reference code's: ResNet-50 up to layer3; SCAN (Conv3x3 -> PReLU -> BN -> Sigmoid, times its input) on 25 local
 * patches of layer2 (max over their GAPs) and on the whole map (GAP); L2-normalised concat -> Linear; CCI = ECA on
 * layer3, four 7x7 quadrants -> GAP -> shared MLP. Outputs: `logits` (mean of the 5 heads), `head_logits`
 * (attention, TL, TR, BL, BR) and `attention_map` (channel mean of the global SCAN weights).
 *
 * The 25 local SCAN convs run as ONE batched MatMul: a single Gather builds every patch's im2col on a zero-padded
 * 6x6 canvas (cells outside the patch read a zero row, which is exactly the conv's zero padding, and make the
 * product with the input zero), so the per-patch GAP is a masked sum divided by the true patch area.
 */
import {
  DataType,
  type DataTypeCode,
  encodeModel,
  float,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  type NodeProto,
  type TensorProto,
} from "./onnx/helper.ts";
import {
  CCI_REGIONS,
  EXPANSION,
  LAYER_STRIDES,
  LOCAL_PATCHES,
  RESNET50_LAYERS,
  scanCciChannels,
  type TensorData,
} from "./scan_cci_params.ts";
import { localPatches, type Patch, PATCH_CANVAS, PATCH_MAP_SIZE } from "./scan_cci_patches.ts";
import { resolveScanCciWeights } from "./scan_cci_weights.ts";

const BN_EPS = 1e-5;
const NORMALIZE_EPS = 1e-12;

interface Ctx {
  nodes: NodeProto[];
  inits: TensorProto[];
  /** Batch-1 shape of every edge, for the FLOP count. */
  shapes: Map<string, number[]>;
  weights: Map<string, TensorData>;
  fdt: DataTypeCode;
  localScan: "per-patch" | "batched";
}

function op(
  ctx: Ctx,
  opType: string,
  inputs: string[],
  output: string,
  shape: number[],
  attrs: Parameters<typeof makeNode>[3] = {},
): string {
  ctx.nodes.push(makeNode(opType, inputs, [output], attrs));
  ctx.shapes.set(output, shape);
  return output;
}

function floatInit(ctx: Ctx, name: string, dims: number[], values: ArrayLike<number>): string {
  ctx.inits.push(makeTensor(name, ctx.fdt, dims, values));
  ctx.shapes.set(name, dims);
  return name;
}

function int64Init(ctx: Ctx, name: string, values: number[], dims = [values.length]): string {
  ctx.inits.push(makeTensor(name, DataType.INT64, dims, values));
  return name;
}

/** A weight from the state dict as an initializer, optionally with a different (same-size) shape. */
function param(ctx: Ctx, key: string, dims?: number[]): string {
  const t = ctx.weights.get(key)!;
  return floatInit(ctx, key, dims ?? t.shape, t.data);
}

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

/** Gather indices of one patch's 3x3 im2col (`taps: true`) or its cells on a 6x6 canvas; `zero` = pad row. */
function canvasIndices(p: Patch, taps: boolean, zero: number): number[] {
  const at = (r: number, c: number) =>
    r >= 0 && r < p.rows && c >= 0 && c < p.cols ? p.source[r * p.cols + c] : zero;
  const out: number[] = [];
  for (let y = 0; y < PATCH_CANVAS; y++) {
    for (let x = 0; x < PATCH_CANVAS; x++) {
      if (!taps) out.push(at(y, x));
      else for (let t = 0; t < 9; t++) out.push(at(y + Math.floor(t / 3) - 1, x + (t % 3) - 1));
    }
  }
  return out;
}

/** Per-(patch, channel) SCAN parameters: conv weights as [9C, C] (K = tap, in-channel), PReLU slope, BN scale/shift. */
function localParams(ctx: Ctx, p: number, c: number) {
  const pre = `attention.local_attention_masks.${p}.attention`;
  const w = ctx.weights.get(`${pre}.0.weight`)!.data;
  const wk = new Float32Array(9 * c * c);
  for (let co = 0; co < c; co++) {
    for (let ci = 0; ci < c; ci++) {
      for (let t = 0; t < 9; t++) wk[(t * c + ci) * c + co] = w[(co * c + ci) * 9 + t];
    }
  }
  const get = (s: string) => ctx.weights.get(`${pre}.${s}`)!.data;
  const [g, b, mu, v] = [get("2.weight"), get("2.bias"), get("2.running_mean"), get("2.running_var")];
  // Inference BatchNorm as one multiply-add per channel (float64 here, then float32/16).
  const scale = g.map((gi, ch) => gi / Math.sqrt(v[ch] + BN_EPS));
  const shift = b.map((bi, ch) => bi - mu[ch] * scale[ch]);
  return { wk, slope: get("1.weight"), scale, shift };
}

/** The NHWC map plus one all-zero row: what canvas cells outside their patch (and the conv's padding) read. */
function paddedRows(ctx: Ctx, fu: string): string {
  const c = ctx.shapes.get(fu)![1];
  const cells = PATCH_MAP_SIZE * PATCH_MAP_SIZE;
  let flat = op(ctx, "Transpose", [fu], "local.nhwc", [1, PATCH_MAP_SIZE, PATCH_MAP_SIZE, c], {
    perm: [0, 2, 3, 1],
  });
  flat = op(ctx, "Reshape", [flat, int64Init(ctx, "local.flat_shape", [-1, cells, c])], "local.flat", [
    1,
    cells,
    c,
  ]);
  return op(ctx, "Pad", [flat, int64Init(ctx, "local.pad", [0, 0, 0, 0, 1, 0])], "local.padded", [
    1,
    cells + 1,
    c,
  ]);
}

/**
 * V_l, default form: per patch one Gather of its im2col rows [N*36, 9C] and one MatMul with a 2-D constant
 * weight (which onnxruntime prepacks once), then all 25 side by side for PReLU/BN/Sigmoid, the product with the
 * input cells, the masked GAP and the max over patches. No transposes of the im2col at any batch size.
 */
function localScanPerPatch(ctx: Ctx, fu: string): string {
  const c = ctx.shapes.get(fu)![1];
  const cells = PATCH_MAP_SIZE * PATCH_MAP_SIZE;
  const canvas = PATCH_CANVAS * PATCH_CANVAS;
  const m = LOCAL_PATCHES;
  const patches = localPatches();
  const flat = paddedRows(ctx, fu);
  const rowsShape = int64Init(ctx, "local.rows_shape", [-1, 9 * c]);
  const slope = new Float32Array(m * c);
  const scale = new Float32Array(m * c);
  const shift = new Float32Array(m * c);
  const convs = patches.map((patch, p) => {
    const params = localParams(ctx, p, c);
    slope.set(params.slope, p * c);
    scale.set(params.scale, p * c);
    shift.set(params.shift, p * c);
    const idx = int64Init(ctx, `local.${p}.col_index`, canvasIndices(patch, true, cells));
    let y = op(ctx, "Gather", [flat, idx], `local.${p}.cols`, [1, canvas * 9, c], { axis: 1 });
    y = op(ctx, "Reshape", [y, rowsShape], `local.${p}.im2col`, [canvas, 9 * c]);
    const w = floatInit(ctx, `local.${p}.weight`, [9 * c, c], params.wk);
    return op(ctx, "MatMul", [y, w], `local.${p}.conv`, [canvas, c]);
  });
  let y = op(ctx, "Concat", convs, "local.conv", [canvas, m * c], { axis: 1 });
  const shape4 = int64Init(ctx, "local.grid_shape", [-1, canvas, m, c]);
  y = op(ctx, "Reshape", [y, shape4], "local.conv4", [1, canvas, m, c]);
  y = op(ctx, "PRelu", [y, floatInit(ctx, "local.prelu", [m, c], slope)], "local.prelu_out", [
    1,
    canvas,
    m,
    c,
  ]);
  y = op(ctx, "Mul", [y, floatInit(ctx, "local.bn_scale", [m, c], scale)], "local.bn_mul", [1, canvas, m, c]);
  y = op(ctx, "Add", [y, floatInit(ctx, "local.bn_shift", [m, c], shift)], "local.bn", [1, canvas, m, c]);
  y = op(ctx, "Sigmoid", [y], "local.sigmoid", [1, canvas, m, c]);
  // Input cells in (canvas position, patch) order so they line up with the concatenated conv outputs.
  const perPatch = patches.map((p) => canvasIndices(p, false, cells));
  const cellIdx = Array.from({ length: canvas * m }, (_, i) => perPatch[i % m][Math.floor(i / m)]);
  let x = op(ctx, "Gather", [flat, int64Init(ctx, "local.cell_index", cellIdx)], "local.cells", [
    1,
    canvas * m,
    c,
  ], {
    axis: 1,
  });
  x = op(ctx, "Reshape", [x, shape4], "local.x", [1, canvas, m, c]);
  y = op(ctx, "Mul", [y, x], "local.attended", [1, canvas, m, c]);
  y = op(ctx, "ReduceSum", [y, int64Init(ctx, "local.sum_axes", [1])], "local.sum", [1, m, c], {
    keepdims: 0,
  });
  const inv = patches.map((p) => 1 / (p.rows * p.cols));
  y = op(ctx, "Mul", [y, floatInit(ctx, "local.inv_area", [m, 1], inv)], "local.gap", [1, m, c]);
  return op(ctx, "ReduceMax", [y], "local.max", [1, c], { axes: [1], keepdims: 0 });
}

/**
 * V_l, alternative form kept for benchmarking: one Gather of all 25 im2cols, a Transpose to [25, N*36, 9C] and one
 * batched MatMul with a [25, 9C, C] weight (not prepacked by onnxruntime, and the Transpose is a full copy).
 */
function localScanBatched(ctx: Ctx, fu: string): string {
  const c = ctx.shapes.get(fu)![1];
  const cells = PATCH_MAP_SIZE * PATCH_MAP_SIZE;
  const canvas = PATCH_CANVAS * PATCH_CANVAS;
  const m = LOCAL_PATCHES;
  const patches = localPatches();
  const flat = paddedRows(ctx, fu);
  const colIdx = int64Init(ctx, "local.col_index", patches.flatMap((p) => canvasIndices(p, true, cells)));
  let cols = op(ctx, "Gather", [flat, colIdx], "local.cols", [1, m * canvas * 9, c], { axis: 1 });
  const colsShape = int64Init(ctx, "local.cols_shape", [-1, m, canvas * 9 * c]);
  cols = op(ctx, "Reshape", [cols, colsShape], "local.cols_r", [1, m, canvas * 9 * c]);
  cols = op(ctx, "Transpose", [cols], "local.cols_t", [m, 1, canvas * 9 * c], { perm: [1, 0, 2] });
  const im2colShape = int64Init(ctx, "local.im2col_shape", [m, -1, 9 * c]);
  cols = op(ctx, "Reshape", [cols, im2colShape], "local.im2col", [m, canvas, 9 * c]);
  const wk = new Float32Array(m * 9 * c * c);
  const slope = new Float32Array(m * c);
  const scale = new Float32Array(m * c);
  const shift = new Float32Array(m * c);
  for (let p = 0; p < m; p++) {
    const params = localParams(ctx, p, c);
    wk.set(params.wk, p * 9 * c * c);
    slope.set(params.slope, p * c);
    scale.set(params.scale, p * c);
    shift.set(params.shift, p * c);
  }
  let y = op(ctx, "MatMul", [cols, floatInit(ctx, "local.weight", [m, 9 * c, c], wk)], "local.conv", [
    m,
    canvas,
    c,
  ]);
  y = op(ctx, "PRelu", [y, floatInit(ctx, "local.prelu", [m, 1, c], slope)], "local.prelu_out", [
    m,
    canvas,
    c,
  ]);
  y = op(ctx, "Mul", [y, floatInit(ctx, "local.bn_scale", [m, 1, c], scale)], "local.bn_mul", [m, canvas, c]);
  y = op(ctx, "Add", [y, floatInit(ctx, "local.bn_shift", [m, 1, c], shift)], "local.bn", [m, canvas, c]);
  y = op(ctx, "Sigmoid", [y], "local.sigmoid", [m, canvas, c]);
  const cellIdx = int64Init(ctx, "local.cell_index", patches.flatMap((p) => canvasIndices(p, false, cells)));
  let x = op(ctx, "Gather", [flat, cellIdx], "local.cells", [1, m * canvas, c], { axis: 1 });
  x = op(ctx, "Reshape", [x, int64Init(ctx, "local.cells_shape", [-1, m, canvas * c])], "local.cells_r", [
    1,
    m,
    canvas * c,
  ]);
  x = op(ctx, "Transpose", [x], "local.cells_t", [m, 1, canvas * c], { perm: [1, 0, 2] });
  x = op(ctx, "Reshape", [x, int64Init(ctx, "local.x_shape", [m, -1, c])], "local.x", [m, canvas, c]);
  y = op(ctx, "Mul", [y, x], "local.attended", [m, canvas, c]);
  const sumShape = int64Init(ctx, "local.sum_shape", [m, -1, canvas, c]);
  y = op(ctx, "Reshape", [y, sumShape], "local.per_image", [m, 1, canvas, c]);
  y = op(ctx, "ReduceSum", [y, int64Init(ctx, "local.sum_axes", [2])], "local.sum", [m, 1, c], {
    keepdims: 0,
  });
  const inv = patches.map((p) => 1 / (p.rows * p.cols));
  y = op(ctx, "Mul", [y, floatInit(ctx, "local.inv_area", [m, 1, 1], inv)], "local.gap", [m, 1, c]);
  return op(ctx, "ReduceMax", [y], "local.max", [1, c], { axes: [0], keepdims: 0 });
}

/** Attention branch: V_l, V_g from the global SCAN, L2-normalised concat -> fc. Also returns the SCAN weights. */
function attentionBranch(ctx: Ctx, fu: string): { logits: string; weights: string } {
  const c = ctx.shapes.get(fu)![1];
  const vl = ctx.localScan === "batched" ? localScanBatched(ctx, fu) : localScanPerPatch(ctx, fu);
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
  { fp16 = false, width, classes, metadata = {}, localScan = "per-patch" }: {
    fp16?: boolean;
    /** How the 25 local SCAN convs are laid out (same math; see localScanPerPatch / localScanBatched). */
    localScan?: "per-patch" | "batched";
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
    localScan,
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
