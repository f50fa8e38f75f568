/**
 * Test helper: makes sure the face-api ONNX ports exist in `model/` (building them offline with `deno task models`'s
 * own function when missing or stale, ~2 s) and opens one shared pipeline per test process.
 */
import { buildFaceApiModels } from "../../model/models.ts";
import { createFacePipeline, type FacePipeline } from "../../src/faces.ts";

const MODEL_DIR = new URL("../../model/", import.meta.url).pathname;
let pipeline: Promise<FacePipeline> | undefined;

/** Builds the face models if needed and returns the model folder. */
export async function faceModelDir(): Promise<string> {
  await buildFaceApiModels({ out: MODEL_DIR, ifMissing: true });
  return MODEL_DIR;
}

/** One pipeline for the whole test file (sessions are safe to keep open across tests). */
export function sharedPipeline(): Promise<FacePipeline> {
  pipeline ??= faceModelDir().then((modelDir) => createFacePipeline({ modelDir }));
  return pipeline;
}

/** The six in-the-wild demo photos shipped with @vladmandic/face-api. */
export const DEMO_PHOTOS = [1, 2, 3, 4, 5, 6].map((n) =>
  new URL(`../../node_modules/@vladmandic/face-api/demo/sample${n}.jpg`, import.meta.url).pathname
);
