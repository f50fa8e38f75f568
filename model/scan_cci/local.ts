/**
 * SCAN's 25 local branches (V_l) as ONNX. Each patch's 3x3 im2col is gathered onto a zero-padded 6x6 canvas:
 * cells outside the patch read an all-zero row, which is exactly the conv's zero padding and also makes the product
 * with the input zero, so each patch's GAP is a masked sum divided by its true area; the max over patches is V_l.
 * Per patch one 2-D MatMul with a constant weight, which onnxruntime prepacks (a single batched 3-D MatMul was
 * measured slower: its im2col Transpose is a full copy and 3-D weights are not prepacked).
 */
import { BN_EPS, type Ctx, floatInit, int64Init, op } from "./graph.ts";
import { LOCAL_PATCHES } from "./params.ts";
import { localPatches, type Patch, PATCH_CANVAS, PATCH_MAP_SIZE } from "./patches.ts";

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
 * V_l: per patch one Gather of its im2col rows [N*36, 9C] and one MatMul with a 2-D constant
 * weight (which onnxruntime prepacks once), then all 25 side by side for PReLU/BN/Sigmoid, the product with the
 * input cells, the masked GAP and the max over patches. No transposes of the im2col at any batch size.
 */
export function localScan(ctx: Ctx, fu: string): string {
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
