/**
 * face-api's TinyFaceDetector (`src/tinyFaceDetector/*` on `src/tinyYolov2/TinyYolov2Base.runMobilenet`) as
 * ONNX: a 3x3 'valid' conv, five depthwise-separable convs with 2x2 max pools, a 1x1 conv to 5 anchors x 5
 * values, all with leaky ReLU (alpha 0.1). Face-api's default input is 416 (any multiple of 32 works).
 *
 * Input `image` [N,S,S,3] float32 NHWC RGB 0..255, padded to a square at the bottom/right and resized like
 * the SSD input. The graph normalises (`(x - meanRgb) / 255`). Output `grid` [N,S/32,S/32,25] is the raw
 * NHWC net output (face-api `forwardInput`): channel `a * 5 + k` holds anchor a's (tx, ty, tw, th, score
 * logit); see TINY_DESCRIPTION for the decoding.
 */
import { DataType, makeGraph, makeModel, makeValueInfo } from "../onnx/helper.ts";
import { type FaceApiWeights, getWeight } from "../weights/faceapi.ts";
import {
  constant,
  conv,
  createGraph,
  type Feature,
  type Graph,
  hwioToOihw,
  nhwcToNchw,
  op,
  samePads,
} from "./layers.ts";
import { type BuiltNet, faceApiInput, type NetDescription } from "./package.ts";

/** face-api's TinyFaceDetector anchors (width, height in grid cells), mean RGB and NMS IoU. */
export const TINY_ANCHORS = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
];
export const TINY_MEAN_RGB = [117.001, 114.697, 97.404];
/** face-api's default TinyFaceDetectorOptions.inputSize. */
export const TINY_INPUT_SIZE = 416;

function leaky(g: Graph, x: Feature, name: string): Feature {
  return { ...x, name: op(g, "LeakyRelu", [x.name], name, { alpha: { kind: "float", value: 0.1 } }) };
}

/** tf.maxPool 2x2 'same': pads (ignored by the max) only after, when the size is odd. */
function maxPool(g: Graph, x: Feature, stride: number, name: string): Feature {
  const [top, bottom, h] = samePads(x.h, 2, stride);
  const [left, right, w] = samePads(x.w, 2, stride);
  const out = op(g, "MaxPool", [x.name], name, {
    kernel_shape: [2, 2],
    pads: [top, left, bottom, right],
    strides: [stride, stride],
  });
  return { name: out, c: x.c, h, w };
}

/** tinyYolov2's depthwiseSeparableConv: pad 1 + 'valid' (same as 'same' for 3x3/1) -> + bias -> leaky. */
function separable(g: Graph, w: FaceApiWeights, x: Feature, idx: number, cout: number): Feature {
  const p = `conv${idx}`;
  const dw = hwioToOihw(getWeight(w, `${p}/depthwise_filter`, [3, 3, x.c, 1]), 3, 3, x.c, 1);
  const depthwise = conv(g, x, `${p}.depthwise`, { weights: dw, kernel: 3, cout: x.c, group: x.c });
  const pw = hwioToOihw(getWeight(w, `${p}/pointwise_filter`, [1, 1, x.c, cout]), 1, 1, x.c, cout);
  const y = conv(g, depthwise, `${p}.pointwise`, {
    weights: pw,
    bias: getWeight(w, `${p}/bias`, [cout]),
    kernel: 1,
    cout,
  });
  return leaky(g, y, `${p}.leaky`);
}

/** Builds the tiny face detector from `tiny_face_detector_model` weights for an S x S input. */
export function buildTinyFaceDetector(
  weights: FaceApiWeights,
  { inputSize = TINY_INPUT_SIZE }: { inputSize?: number } = {},
): BuiltNet {
  if (inputSize % 32 !== 0) {
    throw new Error(`Cannot build tiny face detector: inputSize ${inputSize} is not a multiple of 32`);
  }
  const g = createGraph();
  constant(g, "input.mean_rgb", [3], TINY_MEAN_RGB);
  constant(g, "const.255", [], [255]);
  const scaled = op(
    g,
    "Div",
    [op(g, "Sub", ["image", "input.mean_rgb"], "input.centred"), "const.255"],
    "input.scaled",
  );
  let x = nhwcToNchw(g, scaled, 3, inputSize, inputSize);
  x = conv(g, x, "conv0", {
    weights: hwioToOihw(getWeight(weights, "conv0/filters", [3, 3, 3, 16]), 3, 3, 3, 16),
    bias: getWeight(weights, "conv0/bias", [16]),
    kernel: 3,
    cout: 16,
    padding: "valid",
  });
  x = leaky(g, x, "conv0.leaky");
  [32, 64, 128, 256, 512].forEach((cout, i) => {
    x = maxPool(g, x, 2, `pool${i}`);
    x = separable(g, weights, x, i + 1, cout);
  });
  x = maxPool(g, x, 1, "pool5");
  const out = conv(g, x, "conv8", {
    weights: hwioToOihw(getWeight(weights, "conv8/filters", [1, 1, 512, 25]), 1, 1, 512, 25),
    bias: getWeight(weights, "conv8/bias", [25]),
    kernel: 1,
    cout: 25,
    padding: "valid",
  });
  op(g, "Transpose", [out.name], "grid", { perm: [0, 2, 3, 1] });
  const graph = makeGraph(
    g.nodes,
    "tiny_face_detector",
    [makeValueInfo("image", DataType.FLOAT, ["N", inputSize, inputSize, 3])],
    [makeValueInfo("grid", DataType.FLOAT, ["N", out.h, out.w, 25])],
    g.initializers,
  );
  return { model: makeModel(graph, { docString: "face-api TinyFaceDetector" }), graph: g };
}

/** The family of the tiny detector, the key of its model/architectures.ts entry. */
export const TINY_FAMILY = "faceapi-tiny-face-detector";

/** Manifest description of the tiny detector at `inputSize`. */
export function tinyDescription(inputSize = TINY_INPUT_SIZE): NetDescription {
  const cells = inputSize / 32;
  return {
    id: "tiny-face-detector",
    file: "face-detector-tiny.onnx",
    task: "face-detection",
    architecture: {
      name: "tiny-face-detector",
      family: TINY_FAMILY,
      version: "face-api-1.7.15",
      details: {
        weights: "tiny_face_detector_model",
        anchors: TINY_ANCHORS,
        normalisation: `(x - [${TINY_MEAN_RGB.join(", ")}]) / 255 inside the graph`,
        preprocessing: "as ssd-mobilenetv1: zero pad to a square at the bottom/right, then " +
          `tf.image.resizeBilinear to ${inputSize} (alignCorners=false, halfPixelCenters=false)`,
        decoding: "for row r, col c, anchor a with (tx, ty, tw, th, t) = grid[n, r, c, 5a .. 5a+4] and " +
          `S = ${cells}: score = sigmoid(t); cx = (c + sigmoid(tx)) / S; cy = (r + sigmoid(ty)) / S; ` +
          "w = exp(tw) * anchors[a][0] / S; h = exp(th) * anchors[a][1] / S; box (x, y, w, h) = " +
          "(cx - w/2, cy - h/2, w, h) relative to the padded square (face-api then multiplies by " +
          "max(width, height) of the original image)",
        postprocessing: {
          scoreThreshold: 0.5,
          iouThreshold: 0.4,
          nms: "face-api ops/nonMaxSuppression on boxes rescaled to inputSize, IoU over union",
        },
      },
    },
    input: faceApiInput(inputSize),
    outputs: [{
      name: "grid",
      shape: ["N", cells, cells, 25],
      dtype: "float32",
      kind: "other",
      description: "raw TinyFaceDetector output (NHWC); channel 5a+k is anchor a's (tx, ty, tw, th, score " +
        "logit)",
    }],
    intendedUse: "Locates faces in photos (faster, less accurate alternative to ssd-mobilenetv1). Not an " +
      "identity or demographic tool; do not use it for surveillance or decisions about people.",
  };
}
