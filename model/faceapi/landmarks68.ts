/**
 * face-api's FaceLandmark68Net (`src/faceLandmarkNet/*`): the FaceFeatureExtractor trunk and a 256 -> 136 fully
 * connected layer, as ONNX. The output is the net's raw `runNet` result, before face-api's `postProcess`.
 *
 * Input `image` [N,112,112,3] float32 NHWC RGB 0..255: the face crop padded to a square *centred*
 * (face-api `toBatchTensor(112, true)` -> `padToSquare(x, true)`: `round(diff / 2)` zero rows/columns after,
 * the rest before) and resized with `tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=false)`.
 * Output `landmarks` [N,136] = x0, y0, x1, y1, ... relative to the 112x112 padded square (about 0..1).
 */
import { DataType, makeGraph, makeModel, makeValueInfo } from "../onnx/helper.ts";
import type { FaceApiWeights } from "../weights/faceapi.ts";
import {
  FEATURE_INPUT_SIZE,
  FEATURE_MEAN_RGB,
  featureExtractor,
  fullyConnected,
} from "./feature_extractor.ts";
import { createGraph } from "./layers.ts";
import { type BuiltNet, faceApiInput, type NetDescription } from "./package.ts";

/** Number of outputs: 68 (x, y) pairs. */
export const LANDMARK_OUTPUTS = 136;

/** Builds the 68-point landmark net from `face_landmark_68_model` weights. */
export function buildLandmarks68(weights: FaceApiWeights): BuiltNet {
  const g = createGraph();
  const features = featureExtractor(g, weights);
  fullyConnected(g, weights, features, LANDMARK_OUTPUTS, "landmarks");
  const s = FEATURE_INPUT_SIZE;
  const graph = makeGraph(
    g.nodes,
    "face_landmark_68",
    [makeValueInfo("image", DataType.FLOAT, ["N", s, s, 3])],
    [makeValueInfo("landmarks", DataType.FLOAT, ["N", LANDMARK_OUTPUTS])],
    g.initializers,
  );
  return { model: makeModel(graph, { docString: "face-api FaceLandmark68Net" }), graph: g };
}

/** Shared input spec of the two 112x112 face-api nets. */
export const FACE_CROP_INPUT: NetDescription["input"] = faceApiInput(FEATURE_INPUT_SIZE);

/** How face-api brings a face crop to the 112x112 input (stated in both manifests). */
export const FACE_CROP_PREPROCESSING = {
  crop: "face-api extractFaceTensors: box clipped to the image and floored (Box.clipAtImageBorders), " +
    "tf.slice of the RGB image",
  padding: "centred: padToSquare(x, true) appends round(|h-w|/2) zero rows (or columns) after the image " +
    "and prepends the remaining |h-w| - round(|h-w|/2) before it",
  resize: "tf.image.resizeBilinear to 112x112, alignCorners=false, halfPixelCenters=false " +
    "(src = dst * in/out, floor/ceil neighbours clamped); skipped when already 112x112",
  normalisation: `(x - [${FEATURE_MEAN_RGB.join(", ")}]) / 255 inside the graph`,
};

/** The family of the landmark net, the key of its model/architectures.ts entry. */
export const LANDMARKS68_FAMILY = "faceapi-landmarks68";

/** Manifest description of the landmark net (contract used by src/faces/). */
export const LANDMARKS68_DESCRIPTION: NetDescription = {
  id: "landmarks68",
  file: "face-landmarks68.onnx",
  task: "face-landmarks",
  architecture: {
    name: "face-landmark-68",
    family: LANDMARKS68_FAMILY,
    version: "face-api-1.7.15",
    details: {
      weights: "face_landmark_68_model",
      preprocessing: FACE_CROP_PREPROCESSING,
      postprocessing: "face-api FaceLandmark68NetBase.postProcess: with s = 112 / max(w, h) of the crop, " +
        "x_px = (x * 112 - (w < h ? |w*s - h*s| / 2 : 0)) / (w*s) * w, likewise y with h; then shifted by " +
        "the crop's top-left corner",
    },
  },
  input: FACE_CROP_INPUT,
  outputs: [{
    name: "landmarks",
    shape: ["N", LANDMARK_OUTPUTS],
    dtype: "float32",
    kind: "other",
    description: "raw FaceLandmark68Net output: 68 interleaved (x, y) pairs relative to the 112x112 " +
      "centred-padded square (0..1); point order is dlib's 68-point scheme",
  }],
  intendedUse: "Locates 68 facial landmarks to align a face before expression estimation. Not an identity " +
    "tool; do not use it for surveillance or decisions about people.",
};
