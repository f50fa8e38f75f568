/**
 * Test helper: makes sure the face-api ONNX ports and the converted nets (BlazeFace) exist in `artifacts/models/` (building them offline with
 * `deno task models`'s own function when missing or stale, ~2 s), opens one shared pipeline per test process,
 * and classifies faces with face-api's expression net the way the server does (through the registry).
 */
import { buildFaceApiModels } from "../../model/faceapi/nets.ts";
import { buildTfjsModels } from "../../model/tfjs/models.ts";
import { createFacePipeline, type FacePipeline } from "../../src/faces/pipeline.ts";
import type { Face } from "../../src/faces/face.ts";
import { prepareFaceInput } from "../../src/faces/prepare.ts";
import { classifyFaces } from "../../src/classify.ts";
import { type LoadedModel, loadRegistry, type Registry } from "../../src/registry.ts";
import type { RawImage } from "../../src/image.ts";
import { argmax } from "../../src/smoothing.ts";
import { CANONICAL_LABELS, type ExpressionLabel } from "../../model/spec.ts";

const MODEL_DIR = new URL("../../artifacts/models/", import.meta.url).pathname;
let pipeline: Promise<FacePipeline> | undefined;
let registry: Promise<Registry> | undefined;

/** Builds the face models (the face-api ports, and BlazeFace with the other converted nets) if needed. */
export async function faceModelDir(): Promise<string> {
  await buildFaceApiModels({ out: MODEL_DIR, ifMissing: true });
  await buildTfjsModels({ out: MODEL_DIR, ifMissing: true });
  return MODEL_DIR;
}

/** One pipeline for the whole test file (sessions are safe to keep open across tests). */
export function sharedPipeline(): Promise<FacePipeline> {
  pipeline ??= faceModelDir().then((modelDir) => createFacePipeline({ modelDir }));
  return pipeline;
}

/** face-api's expression net as the registry serves it (one registry per test process). */
export async function baselineModel(): Promise<LoadedModel> {
  registry ??= faceModelDir().then((modelDir) =>
    loadRegistry({ modelDir, defaultModel: "faceapi-expression" })
  );
  return (await registry).resolve("faceapi-expression");
}

/** One face's expression: canonical label (first on ties) and probabilities by name. */
export interface BaselineExpression {
  label: ExpressionLabel;
  scores: Record<ExpressionLabel, number>;
}

/** Classifies `faces` of `image` with the baseline net through the serving path (crop, batcher, label map). */
export async function classifyBaseline(
  image: RawImage,
  faces: readonly (Face | null)[],
): Promise<BaselineExpression[]> {
  const scores = await classifyFaces(await baselineModel(), { prepare: prepareFaceInput }, image, faces);
  return scores.map((s) => ({
    label: CANONICAL_LABELS[argmax(s)],
    scores: Object.fromEntries(CANONICAL_LABELS.map((l, i) => [l, s[i]])) as Record<ExpressionLabel, number>,
  }));
}

/** The six in-the-wild demo photos shipped with @vladmandic/face-api. */
export const DEMO_PHOTOS = [1, 2, 3, 4, 5, 6].map((n) =>
  new URL(`../../node_modules/@vladmandic/face-api/demo/sample${n}.jpg`, import.meta.url).pathname
);
