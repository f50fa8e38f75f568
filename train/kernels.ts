/**
 * Fast convolution gradient kernels for the pure-JS tfjs backends (`wasm`, `cpu`).
 *
 * The stock `cpu` Conv2DBackpropFilter runs at ~0.015 GFLOP/s and `wasm` has none at all (platform notes §5),
 * so ResNet training there is either impossible or ~300x too slow. Both gradients are rewritten here as forward
 * convolutions, which each backend runs well (XNNPACK on wasm): the filter gradient as a dilated convolution of
 * the transposed input with the transposed output gradient, the input gradient as a stride-1 convolution of the
 * (zero-dilated) output gradient with the flipped, transposed filter. Strides and 'same'/'valid'/numeric/explicit
 * padding are supported; dilated convolutions are not (tfjs's Conv2D gradient refuses them anyway). The kernels are registered through tfjs's kernel registry, so
 * the built-in Conv2D gradient (and everything built on it) picks them up unchanged.
 */
import * as tf from "@tensorflow/tfjs";

type Pad = "valid" | "same" | number | [
  [number, number],
  [number, number],
  [number, number],
  [number, number],
];

function asTensor(info: tf.TensorInfo | undefined): tf.Tensor {
  if (!info) throw new Error("Cannot run convolution gradient kernel: an input tensor is missing");
  // Kernels receive bare TensorInfos; a Tensor view sharing the same data lets us use the op API (the view is
  // released by the surrounding tidy, the data stays owned by the caller).
  // makeTensorFromTensorInfo does not take a backend reference, but disposing the view drops one: take it here.
  const t = tf.engine().makeTensorFromTensorInfo(info);
  (tf.engine().backend as unknown as { incRef(id: unknown): void }).incRef(info.dataId);
  return t;
}

function pair(v: number | [number, number]): [number, number] {
  return typeof v === "number" ? [v, v] : v;
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode?: "floor" | "round" | "ceil",
) {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    "channelsLast",
  );
}

/** Forward-conv geometry both gradient kernels take (as tfjs's conv2d does). */
export interface ConvGradOptions {
  strides?: number | [number, number];
  pad?: Pad;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/**
 * dW as one convolution with the roles swapped: the input transposed to [ci, H, W, n] (channels as batch, batch
 * as channels) is correlated with dy transposed to [oh, ow, n, co] at dilation = stride, which yields
 * [ci, kh, kw, co] directly. XNNPACK runs this as a single GEMM-like pass; on wasm it is 5-8x faster than one
 * matMul per kernel tap for the 7x7 stem and thin layers (tfjs-wasm's Slice/StridedSlice are JS loops), and
 * no slower for 64-channel 3x3 layers.
 */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  { strides = 1, pad = "valid", dimRoundingMode }: ConvGradOptions = {},
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, ci, co] = filterShape;
    const info = convInfo(x.shape, filterShape, strides, pad, dimRoundingMode);
    const [sh, sw] = pair(strides);
    const { top, bottom, left, right } = info.padInfo;
    const xp = top || bottom || left || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
    const xT = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    let g = tf.conv2d(xT, dyT, 1, "valid", "NHWC", [sh, sw]); // [ci, >=kh, >=kw, co]
    if (g.shape[1] !== kh || g.shape[2] !== kw) g = tf.slice(g, [0, 0, 0, 0], [ci, kh, kw, co]);
    return tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * dx as a stride-1 'valid' convolution of dy (zero-dilated by the stride, padded by k-1-pad) with the spatially
 * flipped filter whose in/out channels are swapped; the result is cropped/padded to the forward input size.
 */
export function conv2dInputGrad(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  { strides = 1, pad = "valid", dimRoundingMode }: ConvGradOptions = {},
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filter.shape;
    const info = convInfo(inputShape, filter.shape, strides, pad, dimRoundingMode);
    const [sh, sw] = pair(strides);
    const [n, h, w] = inputShape;
    const [, oh, ow, co] = dy.shape;
    let d: tf.Tensor4D = dy;
    if (sh > 1 || sw > 1) {
      // zero-insertion: [n,oh,1,ow,1,c] padded to [n,oh,sh,ow,sw,c] -> [n,oh*sh,ow*sw,c] (trailing zeros cut below)
      const d6 = tf.reshape(dy, [n, oh, 1, ow, 1, co]);
      const padded = tf.pad(d6, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
      d = tf.reshape(padded, [n, oh * sh, ow * sw, co]) as tf.Tensor4D;
      d = tf.slice(d, [0, 0, 0, 0], [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, co]);
    }
    const { top, left } = info.padInfo;
    const lh = (oh - 1) * sh + 1, lw = (ow - 1) * sw + 1;
    const pt = kh - 1 - top, pl = kw - 1 - left;
    const pb = h + top - lh, pr = w + left - lw;
    if (pt < 0 || pl < 0) {
      throw new Error(`Cannot compute conv input gradient: padding ${top}/${left} >= kernel`);
    }
    if (pb < 0 || pr < 0) {
      d = tf.slice(d, [0, 0, 0, 0], [n, lh + Math.min(pb, 0), lw + Math.min(pr, 0), co]);
    }
    if (pt || pl || pb > 0 || pr > 0) {
      d = tf.pad(d, [[0, 0], [pt, Math.max(pb, 0)], [pl, Math.max(pr, 0)], [0, 0]]);
    }
    const wt = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(d, wt, 1, "valid");
  });
}

type ConvGradAttrs = tf.Conv2DBackpropFilterAttrs & tf.Conv2DBackpropInputAttrs;

/** The two fast kernels: name -> the gradient computed from the kernel's inputs and attributes. */
const FAST_CONV_GRADIENTS: Record<string, (inputs: tf.NamedTensorInfoMap, a: ConvGradAttrs) => tf.Tensor4D> =
  {
    Conv2DBackpropFilter: (inputs, a) =>
      conv2dFilterGrad(asTensor(inputs.x) as tf.Tensor4D, asTensor(inputs.dy) as tf.Tensor4D, a.filterShape, {
        strides: a.strides,
        pad: a.pad as Pad,
        dimRoundingMode: a.dimRoundingMode,
      }),
    Conv2DBackpropInput: (inputs, a) =>
      conv2dInputGrad(
        asTensor(inputs.dy) as tf.Tensor4D,
        asTensor(inputs.filter) as tf.Tensor4D,
        a.inputShape,
        {
          strides: a.strides,
          pad: a.pad as Pad,
          dimRoundingMode: a.dimRoundingMode,
        },
      ),
  };

/**
 * Registers the fast Conv2DBackpropFilter / Conv2DBackpropInput kernels for `backendName` (replacing any built-in
 * ones). Idempotent. Returns the kernel names registered. Must not be called for the native `tensorflow`
 * backend, whose kernels are already fast.
 */
export function registerFastConvGradients(backendName: string): string[] {
  for (const [kernelName, gradient] of Object.entries(FAST_CONV_GRADIENTS)) {
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: ({ inputs, attrs }) => {
        const a = attrs as unknown as ConvGradAttrs;
        if (a.dataFormat && a.dataFormat !== "NHWC") {
          throw new Error(
            `Cannot run ${kernelName}: data format "${a.dataFormat}" is not supported, use NHWC`,
          );
        }
        return tf.tidy(() => gradient(inputs, a));
      },
    });
  }
  return Object.keys(FAST_CONV_GRADIENTS);
}
