/**
 * face-api's SSD MobileNetV1 face detector (`src/ssdMobilenetv1/*`) as an ONNX graph, written like the source:
 * `depthwiseConvLayer` / `pointwiseConvLayer` -> `mobileNetV1` -> `predictionLayer` -> `outputLayer`.
 *
 * Input `image` [N,512,512,3] float32 NHWC RGB 0..255, already padded to a square at the bottom/right and
 * resized to 512 (face-api `NetInput.toBatchTensor(512, false)`). The graph normalises like face-api
 * (`x / 127.5 - 1`), runs the network and decodes the 5118 anchor boxes exactly as `outputLayer` does.
 * Outputs: `boxes` [N,5118,4] = (y1, x1, y2, x2) relative to the 512x512 padded square (unclipped; face-api
 * clips to 0..1 after NMS), and `scores` [N,5118] = sigmoid of the face logit. NMS stays outside the graph.
 */
import { DataType, makeGraph, makeModel, makeNode, makeValueInfo } from "../onnx/helper.ts";
import { type FaceApiWeights, getWeight } from "../weights/faceapi.ts";
import {
  constant,
  conv,
  createGraph,
  type Feature,
  type Graph,
  hwioToOihw,
  int64,
  nhwcToNchw,
  op,
  relu6,
} from "./layers.ts";
import { type BuiltNet, faceApiInput, type NetDescription } from "./package.ts";

/** Input side of the SSD detector. */
export const SSD_INPUT_SIZE = 512;
/** Number of anchors: 32²·3 + 16²·6 + 8²·6 + 4²·6 + 2²·6 + 1²·6. */
export const SSD_ANCHORS = 5118;
/** tf.batchNorm epsilon used by face-api's mobileNetV1. */
const BN_EPSILON = 0.0010000000474974513;

/** face-api's depthwiseConvLayer: depthwise 3x3 'same' + batchNorm (folded into the conv) + ReLU6. */
function depthwiseConvLayer(g: Graph, w: FaceApiWeights, x: Feature, idx: number, stride: number): Feature {
  const p = `MobilenetV1/Conv2d_${idx}_depthwise`;
  const c = x.c;
  const filters = hwioToOihw(getWeight(w, `${p}/depthwise_weights`, [3, 3, c, 1]), 3, 3, c, 1);
  const gamma = getWeight(w, `${p}/BatchNorm/gamma`, [c]);
  const beta = getWeight(w, `${p}/BatchNorm/beta`, [c]);
  const mean = getWeight(w, `${p}/BatchNorm/moving_mean`, [c]);
  const variance = getWeight(w, `${p}/BatchNorm/moving_variance`, [c]);
  // (conv(x) - mean) * gamma / sqrt(var + eps) + beta  ==  conv'(x) + bias'  with the factor folded in.
  const weights = new Float32Array(filters.length);
  const bias = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    const factor = gamma[ch] / Math.sqrt(variance[ch] + BN_EPSILON);
    for (let k = 0; k < 9; k++) weights[ch * 9 + k] = filters[ch * 9 + k] * factor;
    bias[ch] = beta[ch] - mean[ch] * factor;
  }
  const name = `mobilenetv1.conv_${idx}.depthwise`;
  const y = conv(g, x, name, { weights, bias, kernel: 3, cout: c, stride, group: c });
  return relu6(g, y, `${name}.relu6`);
}

/** face-api's pointwiseConvLayer: conv 'same' + batch_norm_offset + ReLU6 (kernel 1 or 3). */
function pointwiseConvLayer(
  g: Graph,
  w: FaceApiWeights,
  x: Feature,
  prefix: string,
  name: string,
  { cout, kernel = 1, stride = 1 }: { cout: number; kernel?: number; stride?: number },
): Feature {
  const filters = getWeight(w, `${prefix}/weights`, [kernel, kernel, x.c, cout]);
  const weights = hwioToOihw(filters, kernel, kernel, x.c, cout);
  const bias = getWeight(w, `${prefix}/convolution_bn_offset`, [cout]);
  const y = conv(g, x, name, { weights, bias, kernel, cout, stride });
  return relu6(g, y, `${name}.relu6`);
}

/** MobileNetV1 body; returns the last feature map and the output of pair 11 (first box predictor input). */
function mobileNetV1(g: Graph, w: FaceApiWeights, x: Feature): { out: Feature; conv11: Feature } {
  const channels = [64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024];
  let out = pointwiseConvLayer(g, w, x, "MobilenetV1/Conv2d_0_pointwise", "mobilenetv1.conv_0", {
    cout: 32,
    kernel: 3,
    stride: 2,
  });
  let conv11 = out;
  channels.forEach((cout, i) => {
    const idx = i + 1;
    const stride = [2, 4, 6, 12].includes(idx) ? 2 : 1;
    out = depthwiseConvLayer(g, w, out, idx, stride);
    out = pointwiseConvLayer(
      g,
      w,
      out,
      `MobilenetV1/Conv2d_${idx}_pointwise`,
      `mobilenetv1.conv_${idx}.pointwise`,
      {
        cout,
      },
    );
    if (idx === 11) conv11 = out;
  });
  return { out, conv11 };
}

/**
 * One box predictor: 1x1 box-encoding conv -> [N, H*W*k, 4], and the face logit of each anchor -> [N, H*W*k].
 * face-api keeps 3 class channels per anchor and later reads channel 1 (face) only; convolving just those
 * output channels gives the same numbers with a third of the work.
 */
function boxPredictor(g: Graph, w: FaceApiWeights, x: Feature, idx: number): { box: string; logit: string } {
  const p = `Prediction/BoxPredictor_${idx}`;
  const k = idx === 0 ? 3 : 6;
  const boxW = getWeight(w, `${p}/BoxEncodingPredictor/weights`, [1, 1, x.c, 4 * k]);
  const boxB = getWeight(w, `${p}/BoxEncodingPredictor/biases`, [4 * k]);
  const clsW = getWeight(w, `${p}/ClassPredictor/weights`, [1, 1, x.c, 3 * k]);
  const clsB = getWeight(w, `${p}/ClassPredictor/biases`, [3 * k]);
  const faceW = new Float32Array(x.c * k);
  for (let i = 0; i < x.c; i++) {
    for (let a = 0; a < k; a++) faceW[i * k + a] = clsW[i * 3 * k + a * 3 + 1];
  }
  const faceB = Float32Array.from({ length: k }, (_, a) => clsB[a * 3 + 1]);
  const name = `prediction_layer.box_predictor_${idx}`;
  const box = conv(g, x, `${name}.box_encoding`, {
    weights: hwioToOihw(boxW, 1, 1, x.c, 4 * k),
    bias: boxB,
    kernel: 1,
    cout: 4 * k,
  });
  const logit = conv(g, x, `${name}.face_logit`, {
    weights: hwioToOihw(faceW, 1, 1, x.c, k),
    bias: faceB,
    kernel: 1,
    cout: k,
  });
  // TF reshapes NHWC: anchors run fastest within a cell, cells in row-major order.
  const boxNhwc = op(g, "Transpose", [box.name], `${name}.box_encoding.nhwc`, { perm: [0, 2, 3, 1] });
  const logitNhwc = op(g, "Transpose", [logit.name], `${name}.face_logit.nhwc`, { perm: [0, 2, 3, 1] });
  return {
    box: op(g, "Reshape", [boxNhwc, "shape.n_a_4"], `${name}.box_encoding.flat`),
    logit: op(g, "Reshape", [logitNhwc, "shape.n_a"], `${name}.face_logit.flat`),
  };
}

/** The prediction layer's extra feature pyramid and its six box predictors, concatenated in face-api order. */
function predictionLayer(
  g: Graph,
  w: FaceApiWeights,
  x: Feature,
  conv11: Feature,
): { enc: string; logit: string } {
  const extra: Feature[] = [];
  let out = x;
  const spec: [number, number, number][] = [
    [256, 1, 1],
    [512, 3, 2],
    [128, 1, 1],
    [256, 3, 2],
    [128, 1, 1],
    [
      256,
      3,
      2,
    ],
    [64, 1, 1],
    [128, 3, 2],
  ];
  spec.forEach(([cout, kernel, stride], i) => {
    out = pointwiseConvLayer(g, w, out, `Prediction/Conv2d_${i}_pointwise`, `prediction_layer.conv_${i}`, {
      cout,
      kernel,
      stride,
    });
    extra.push(out);
  });
  int64(g, "shape.n_a_4", [0, -1, 4]);
  int64(g, "shape.n_a", [0, -1]);
  const sources = [conv11, x, extra[1], extra[3], extra[5], extra[7]];
  const preds = sources.map((f, idx) => boxPredictor(g, w, f, idx));
  return {
    enc: op(g, "Concat", preds.map((p) => p.box), "box_encodings", { axis: 1 }),
    logit: op(g, "Concat", preds.map((p) => p.logit), "face_logits", { axis: 1 }),
  };
}

/**
 * face-api's outputLayer: anchors `Output/extra_dim` are (y1, x1, y2, x2); sizes and centres are computed once
 * here in float32 exactly as tfjs would at run time, then `centre + enc/10 * size` and `exp(enc/5) * size / 2`.
 */
function outputLayer(g: Graph, w: FaceApiWeights, enc: string): string {
  const priors = getWeight(w, "Output/extra_dim", [1, SSD_ANCHORS, 4]);
  const f = Math.fround;
  const sizes = new Float32Array(SSD_ANCHORS * 2);
  const centers = new Float32Array(SSD_ANCHORS * 2);
  for (let a = 0; a < SSD_ANCHORS; a++) {
    for (let j = 0; j < 2; j++) {
      const size = f(priors[a * 4 + 2 + j] - priors[a * 4 + j]);
      sizes[a * 2 + j] = size;
      centers[a * 2 + j] = f(priors[a * 4 + j] + f(size / 2));
    }
  }
  constant(g, "anchors.sizes", [SSD_ANCHORS, 2], sizes);
  constant(g, "anchors.centers", [SSD_ANCHORS, 2], centers);
  for (const v of [2, 5, 10]) constant(g, `const.${v}`, [], [v]);
  g.nodes.push(makeNode("Split", [enc, int64(g, "split.2_2", [2, 2])], ["enc.yx", "enc.hw"], { axis: 2 }));
  const center = op(g, "Add", [
    op(g, "Mul", [op(g, "Div", ["enc.yx", "const.10"], "enc.yx.div10"), "anchors.sizes"], "enc.yx.scaled"),
    "anchors.centers",
  ], "boxes.center");
  const half = op(g, "Div", [
    op(g, "Mul", [
      op(g, "Exp", [op(g, "Div", ["enc.hw", "const.5"], "enc.hw.div5")], "enc.hw.exp"),
      "anchors.sizes",
    ], "boxes.size"),
    "const.2",
  ], "boxes.half");
  const min = op(g, "Sub", [center, half], "boxes.min");
  const max = op(g, "Add", [center, half], "boxes.max");
  return op(g, "Concat", [min, max], "boxes", { axis: 2 });
}

/** Builds the SSD MobileNetV1 face detector from `ssd_mobilenetv1_model` weights. */
export function buildSsdMobilenetV1(weights: FaceApiWeights): BuiltNet {
  const g = createGraph();
  const s = SSD_INPUT_SIZE;
  constant(g, "const.127_5", [], [127.5]);
  constant(g, "const.1", [], [1]);
  const x = nhwcToNchw(g, "image", 3, s, s);
  const normalized = op(
    g,
    "Sub",
    [op(g, "Div", [x.name, "const.127_5"], "input.div"), "const.1"],
    "input.norm",
  );
  const { out, conv11 } = mobileNetV1(g, weights, { ...x, name: normalized });
  const { enc, logit } = predictionLayer(g, weights, out, conv11);
  outputLayer(g, weights, enc);
  op(g, "Sigmoid", [logit], "scores");
  const graph = makeGraph(
    g.nodes,
    "ssd_mobilenetv1",
    [makeValueInfo("image", DataType.FLOAT, ["N", s, s, 3])],
    [
      makeValueInfo("boxes", DataType.FLOAT, ["N", SSD_ANCHORS, 4]),
      makeValueInfo("scores", DataType.FLOAT, ["N", SSD_ANCHORS]),
    ],
    g.initializers,
  );
  return { model: makeModel(graph, { docString: "face-api SSD MobileNetV1 face detector" }), graph: g };
}

/** The family of the SSD detector, the key of its model/architectures.ts entry. */
export const SSD_FAMILY = "faceapi-ssd-mobilenetv1";

/** Manifest description of the SSD detector (contract used by src/faces/). */
export const SSD_DESCRIPTION: NetDescription = {
  id: "ssd-mobilenetv1",
  file: "face-detector-ssd.onnx",
  task: "face-detection",
  architecture: {
    name: "ssd-mobilenetv1",
    family: SSD_FAMILY,
    version: "face-api-1.7.15",
    details: {
      weights: "ssd_mobilenetv1_model",
      anchors: SSD_ANCHORS,
      normalisation: "x / 127.5 - 1 (inside the graph)",
      preprocessing: "pad to square with zeros at the bottom/right (face-api padToSquare(x, false)), then " +
        "tf.image.resizeBilinear(size 512, alignCorners=false, halfPixelCenters=false); no resize when " +
        "already 512x512",
      postprocessing: {
        nms: "face-api ssdMobilenetv1/nonMaxSuppression: greedy by score over candidates with score > " +
          "minConfidence, IoU on (y1,x1,y2,x2), suppress when IoU > iouThreshold",
        iouThreshold: 0.5,
        minConfidence: 0.5,
        maxResults: 100,
        toImage:
          "face-api locateFaces: with rw = round(w * 512 / max(w, h)), rh = round(h * 512 / max(w, h)): " +
          "top = max(0, y1) * 512 / rh, bottom = min(1, y2) * 512 / rh, left = max(0, x1) * 512 / rw, " +
          "right = min(1, x2) * 512 / rw (relative to the original image), then times w (x) and h (y) in pixels",
      },
    },
  },
  input: faceApiInput(SSD_INPUT_SIZE),
  outputs: [
    {
      name: "boxes",
      shape: ["N", SSD_ANCHORS, 4],
      dtype: "float32",
      kind: "other",
      description: "decoded anchor boxes (y1, x1, y2, x2) relative to the 512x512 padded square (0..1, " +
        "unclipped), exactly face-api outputLayer before NMS",
    },
    {
      name: "scores",
      shape: ["N", SSD_ANCHORS],
      dtype: "float32",
      kind: "other",
      description: "face probability per anchor: sigmoid of class channel 1 (face-api outputLayer)",
    },
  ],
  intendedUse: "Locates faces in photos as the first step of expression estimation. Not an identity or " +
    "demographic tool; do not use it for surveillance or decisions about people.",
};
