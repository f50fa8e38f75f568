/**
 * face-api's FaceExpressionNet (`src/faceExpressionNet/*`): its own FaceFeatureExtractor trunk (weights
 * `dense0..3` in `face_expression_model`, separate from the landmark net's), a 256 -> 7 fully connected layer
 * and a softmax. face-api feeds it the *colour* RGB face crop (in `withFaceExpressions()` after landmarks: the
 * landmark-aligned box `alignedRect`, else the detection box), prepared exactly like the landmark net's input.
 */
import { DataType, makeGraph, makeModel, makeValueInfo } from "../onnx/helper.ts";
import { INTENDED_USE, LABEL_ORDERS } from "../spec.ts";
import type { FaceApiWeights } from "../weights/faceapi.ts";
import { FEATURE_INPUT_SIZE, featureExtractor, fullyConnected } from "./feature_extractor.ts";
import { createGraph, op } from "./layers.ts";
import { FACE_CROP_INPUT, FACE_CROP_PREPROCESSING } from "./landmarks68.ts";
import type { BuiltNet, NetDescription } from "./package.ts";

/** Builds the expression net from `face_expression_model` weights. */
export function buildExpression(weights: FaceApiWeights): BuiltNet {
  const g = createGraph();
  const features = featureExtractor(g, weights);
  const logits = fullyConnected(g, weights, features, LABEL_ORDERS.faceapi.length, "logits");
  op(g, "Softmax", [logits], "probabilities", { axis: 1 });
  const s = FEATURE_INPUT_SIZE;
  const graph = makeGraph(
    g.nodes,
    "face_expression",
    [makeValueInfo("image", DataType.FLOAT, ["N", s, s, 3])],
    [makeValueInfo("probabilities", DataType.FLOAT, ["N", LABEL_ORDERS.faceapi.length])],
    g.initializers,
  );
  return { model: makeModel(graph, { docString: "face-api FaceExpressionNet" }), graph: g };
}

/** The family of the expression net, the key of its model/architectures.ts entry. */
export const EXPRESSION_FAMILY = "faceapi-expression";

/** Manifest description of the expression net. */
export const EXPRESSION_DESCRIPTION: NetDescription = {
  id: "faceapi-expression",
  file: "face-expression.onnx",
  task: "expression",
  architecture: {
    name: "face-expression",
    family: EXPRESSION_FAMILY,
    version: "face-api-1.7.15",
    details: {
      weights: "face_expression_model",
      nativeLabels: ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"],
      preprocessing: {
        ...FACE_CROP_PREPROCESSING,
        crop: "colour RGB crop of landmarks.align() (min bbox of the 68 points padded by 20%, " +
          "face-api alignedRect) when landmarks ran, else the detection box; then as the landmark net",
      },
    },
  },
  labels: [...LABEL_ORDERS.faceapi],
  labelOrder: "faceapi",
  input: FACE_CROP_INPUT,
  outputs: [{
    name: "probabilities",
    shape: ["N", LABEL_ORDERS.faceapi.length],
    dtype: "float32",
    kind: "probabilities",
    description: "softmax over face-api's 7 expressions, in `labels` order",
  }],
  intendedUse: INTENDED_USE,
};
