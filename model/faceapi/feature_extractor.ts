/**
 * face-api's FaceFeatureExtractor (`src/faceFeatureExtractor/*`), the trunk shared by the 68-point landmark net
 * and the expression net: four `denseBlock4`s of depthwise-separable convolutions on a 112x112 RGB crop, then a
 * 7x7 average pool, giving 256 features per face. The two nets ship separately trained copies of this trunk
 * (same names `dense0..3/conv0..3/*`), so it is built from whichever weights are passed in, followed by the net's
 * own `fc` layer.
 */
import { type FaceApiWeights, getWeight } from "../weights/faceapi.ts";
import {
  addNested,
  constant,
  conv,
  type Feature,
  type Graph,
  hwioToOihw,
  nhwcToNchw,
  op,
  relu,
} from "./layers.ts";

/** The side of the square crop the trunk reads. */
export const FEATURE_INPUT_SIZE = 112;
/** face-api's FaceFeatureExtractor mean RGB, subtracted before dividing by 255. */
export const FEATURE_MEAN_RGB = [122.782, 117.001, 104.298];
/** Features after the average pool. */
export const FEATURE_CHANNELS = 256;

/** face-api's `depthwiseSeparableConv`: depthwise 3x3 'same' (strided) -> pointwise 1x1 -> + bias. */
function separableConv(
  g: Graph,
  w: FaceApiWeights,
  x: Feature,
  prefix: string,
  cout: number,
  stride: number,
): Feature {
  const name = prefix.replaceAll("/", ".");
  const dw = hwioToOihw(getWeight(w, `${prefix}/depthwise_filter`, [3, 3, x.c, 1]), 3, 3, x.c, 1);
  const depthwise = conv(g, x, `${name}.depthwise`, {
    weights: dw,
    kernel: 3,
    cout: x.c,
    stride,
    group: x.c,
  });
  const pw = hwioToOihw(getWeight(w, `${prefix}/pointwise_filter`, [1, 1, x.c, cout]), 1, 1, x.c, cout);
  const bias = getWeight(w, `${prefix}/bias`, [cout]);
  return conv(g, depthwise, `${name}.pointwise`, { weights: pw, bias, kernel: 1, cout });
}

/** face-api's `denseBlock4` (isScaleDown = true): a strided first conv, then three densely summed convs. */
function denseBlock4(
  g: Graph,
  w: FaceApiWeights,
  x: Feature,
  prefix: string,
  cout: number,
  first: boolean,
): Feature {
  let conv0: Feature;
  if (first) {
    const filters = getWeight(w, `${prefix}/conv0/filters`, [3, 3, x.c, cout]);
    conv0 = conv(g, x, `${prefix}.conv0`, {
      weights: hwioToOihw(filters, 3, 3, x.c, cout),
      bias: getWeight(w, `${prefix}/conv0/bias`, [cout]),
      kernel: 3,
      cout,
      stride: 2,
    });
  } else {
    conv0 = separableConv(g, w, x, `${prefix}/conv0`, cout, 2);
  }
  const out1 = relu(g, conv0, `${prefix}.out1`);
  const out2 = separableConv(g, w, out1, `${prefix}/conv1`, cout, 1);
  const in3 = relu(g, addNested(g, [out1, out2], `${prefix}.in3`), `${prefix}.in3.relu`);
  const out3 = separableConv(g, w, in3, `${prefix}/conv2`, cout, 1);
  const in4 = relu(g, addNested(g, [out1, out2, out3], `${prefix}.in4`), `${prefix}.in4.relu`);
  const out4 = separableConv(g, w, in4, `${prefix}/conv3`, cout, 1);
  return relu(g, addNested(g, [out1, out2, out3, out4], `${prefix}.out`), `${prefix}.out.relu`);
}

/**
 * Adds the trunk reading graph input `image` [N,112,112,3] (RGB 0..255) and returns the flattened [N,256]
 * features: `(x - meanRgb) / 255`, dense0..dense3 (32, 64, 128, 256 channels; 56, 28, 14, 7 px), avgPool 7x7.
 */
export function featureExtractor(g: Graph, w: FaceApiWeights, input = "image"): string {
  constant(g, "input.mean_rgb", [3], FEATURE_MEAN_RGB);
  constant(g, "const.255", [], [255]);
  // Normalising in NHWC, where the mean broadcasts over the last axis, then moving to NCHW.
  const centred = op(g, "Sub", [input, "input.mean_rgb"], "input.centred");
  const scaled = op(g, "Div", [centred, "const.255"], "input.scaled");
  let out = nhwcToNchw(g, scaled, 3, FEATURE_INPUT_SIZE, FEATURE_INPUT_SIZE);
  [32, 64, 128, 256].forEach((cout, i) => {
    out = denseBlock4(g, w, out, `dense${i}`, cout, i === 0);
  });
  if (out.h !== 7 || out.w !== 7) {
    throw new Error(`Cannot build feature extractor: trunk ends at ${out.h}x${out.w}`);
  }
  const pooled = op(g, "AveragePool", [out.name], "features.pool", { kernel_shape: [7, 7], strides: [2, 2] });
  return op(g, "Flatten", [pooled], "features", { axis: 1 });
}

/** face-api's `fullyConnectedLayer` (`x @ fc/weights + fc/bias`) on the trunk's features. */
export function fullyConnected(g: Graph, w: FaceApiWeights, x: string, cout: number, name: string): string {
  const weights = constant(
    g,
    "fc.weight",
    [FEATURE_CHANNELS, cout],
    getWeight(w, "fc/weights", [FEATURE_CHANNELS, cout]),
    {
      learned: true,
    },
  );
  const bias = constant(g, "fc.bias", [cout], getWeight(w, "fc/bias", [cout]), { learned: true });
  g.macs += FEATURE_CHANNELS * cout;
  return op(g, "Gemm", [x, weights, bias], name);
}
