/**
 * The faces pipeline: image -> faces `{box, score, landmarks68, landmarks5}` -> model inputs. It runs face-api's
 * detectors (the `DETECTORS` table) and 68-point landmark net as ONNX (built by `deno task models`) with
 * face-api's exact pre- and post-processing, so results match face-api's `detectAllFaces().withFaceLandmarks()`.
 * Expressions are not classified here: every expression model, face-api's included, is served by the registry.
 * Used by the server (through `createFaceDetector`), the CLI (src/detect.ts) and training data preparation
 * (train/prepare.ts, through `detectFaces`).
 */
import { join } from "node:path";
import { clipBox } from "../box.ts";
import { decodeImage, type DecodeOptions, type RawImage } from "../image.ts";
import type { ExecutionProvider, ModelSession } from "../session.ts";
import {
  checkDetectorInput,
  DEFAULT_DETECTOR,
  DETECTOR_NAMES,
  type DetectorName,
  type DetectorNet,
  DETECTORS,
} from "./detectors.ts";
import type { Face } from "./face.ts";
import { addLandmarks } from "./landmarks.ts";
import { DEFAULT_MODEL_DIR, openFaceModel } from "./open.ts";
import { alignedCrop, prepareFaceInput } from "./prepare.ts";

/** The face types, re-exported for callers of the pipeline. */
export type { Detection, Face } from "./face.ts";

/** Manifest file names of the face-api nets inside the model folder. */
export const FACE_MODELS = {
  detector: DETECTORS.ssd.nets[0].file,
  landmarks: "face-landmarks68.manifest.json",
  /** face-api's expression net: not part of the pipeline, but the server needs it as its baseline model. */
  expression: "face-expression.manifest.json",
  /** The faster detector (face-api's Tiny Face Detector): opened on first use by the library, at start by the server. */
  tinyDetector: DETECTORS.tiny.nets[0].file,
} as const;

/** Options of one detection run; every field has a default. */
export interface DetectOptions {
  /** Keep detections scoring strictly above this (face-api's `minConfidence`). */
  minConfidence?: number;
  /** Most faces returned (highest scores first). */
  maxFaces?: number;
  /** Drop faces whose box is smaller than this many pixels on its shorter side. */
  minFaceSize?: number;
  /** Run the 68-point landmark net (needed for alignment and for face-api's expression crop). */
  landmarks?: boolean;
  /** Which `DETECTORS` entry finds the faces (default: the table's first, `ssd-multiscale`). */
  detector?: DetectorName;
}

/** A face with its aligned crop, as training preparation wants it. */
export interface AlignedFace extends Face {
  /** 224x224 RGB aligned on the five landmarks (the box crop resized when landmarks are missing). */
  aligned224: RawImage;
}

/** The opened detector and landmark nets with the operations on them. */
export interface FacePipeline {
  detector: ModelSession;
  landmarker: ModelSession;
  /** Detects faces, sorted by score; an image without faces gives `[]`. Landmarks run as one batch. */
  detect(image: RawImage, options?: DetectOptions): Promise<Face[]>;
  /**
   * `detect` on each of several frames, the detector run as one batch over all of them (landmarks per frame):
   * per frame the same faces as `detect`, in input order.
   */
  detectMany(images: readonly RawImage[], options?: DetectOptions): Promise<Face[][]>;
  /** Decode + detect + align each face to 224x224 (`decodeImage` errors propagate as `ApiError`). */
  detectFaces(
    bytes: Uint8Array,
    options?: DetectOptions & DecodeOptions,
  ): Promise<{ image: RawImage; faces: AlignedFace[] }>;
  release(): Promise<void>;
}

/** Where the nets are and how to run them. */
export interface FacePipelineOptions {
  modelDir?: string;
  executionProvider?: ExecutionProvider;
  intraOpNumThreads?: number;
  /** onnxruntime threads spin between runs (default true, onnxruntime's own default). */
  allowSpinning?: boolean;
  /** onnxruntime keeps a buffer plan per input shape (default true, onnxruntime's own default). */
  memoryPattern?: boolean;
  /** Open the nets in the shared inference worker (src/session.ts `worker`). */
  worker?: boolean;
}

/**
 * The files (manifest and ONNX) of `FACE_MODELS` that the server needs but `modelDir` lacks: every detector a
 * request can name (`detector=tiny` included), the landmark net and the baseline expression net.
 */
export function missingFaceModels(modelDir: string): string[] {
  const needed = [
    ...new Set(DETECTOR_NAMES.flatMap((d) => DETECTORS[d].nets.map((n) => n.file))),
    FACE_MODELS.landmarks,
    FACE_MODELS.expression,
  ]
    .flatMap((m) => [m, m.replace(/\.manifest\.json$/, ".onnx")]);
  return needed.filter((f) => {
    try {
      return !Deno.statSync(join(modelDir, f)).isFile;
    } catch {
      return true;
    }
  });
}

/** Opens the eager detectors and the landmark net once; reuse the pipeline for every image. */
export async function createFacePipeline(
  {
    modelDir = DEFAULT_MODEL_DIR,
    executionProvider = "cpu",
    intraOpNumThreads,
    allowSpinning,
    memoryPattern,
    worker,
  }: FacePipelineOptions = {},
): Promise<FacePipeline> {
  const opts = { executionProvider, intraOpNumThreads, allowSpinning, memoryPattern, worker };
  // Keyed by manifest file: detectors that run the same net in other ways share one session.
  const sessions = new Map<string, Promise<ModelSession>>();
  const open = (net: DetectorNet) =>
    openFaceModel(modelDir, net.file, opts).then((s) => {
      checkDetectorInput(net, s);
      return s;
    });
  for (const name of Object.keys(DETECTORS) as DetectorName[]) {
    const { nets, eager } = DETECTORS[name];
    for (const net of eager ? nets : []) {
      if (!sessions.has(net.file)) sessions.set(net.file, Promise.resolve(await open(net)));
    }
  }
  const landmarker = await openFaceModel(modelDir, FACE_MODELS.landmarks, opts);
  let released: Promise<void> | undefined;

  /** The session of one net, opened now if it is a lazy one; a failed open is retried next time. */
  async function netSession(net: DetectorNet): Promise<ModelSession> {
    let s = sessions.get(net.file);
    if (!s) sessions.set(net.file, s = open(net));
    try {
      return await s;
    } catch (err) {
      sessions.delete(net.file); // let a later call retry once the model is built
      throw err;
    }
  }
  /** The sessions of detector `name`'s nets, in its order. */
  const session = (name: DetectorName) => Promise.all(DETECTORS[name].nets.map(netSession));

  async function detectMany(
    images: readonly RawImage[],
    {
      minConfidence = 0.5,
      maxFaces = 20,
      minFaceSize = 0,
      landmarks = true,
      detector: which = DEFAULT_DETECTOR,
    }: DetectOptions = {},
  ): Promise<Face[][]> {
    const entry = DETECTORS[which], s = await session(which);
    const found = images.length === 1
      ? [await entry.run(s, images[0], minConfidence)]
      : await entry.runBatch(s, images, minConfidence);
    return await Promise.all(found.map(async (dets, b) => {
      const { width: W, height: H } = images[b];
      const raw = dets.filter((d) => Math.min(d.box.width, d.box.height) >= minFaceSize).slice(0, maxFaces);
      const faces: Face[] = raw.map(({ box, score }) => ({ box: clipBox(box, W, H), score }));
      if (landmarks && raw.length > 0) await addLandmarks(landmarker, images[b], raw, faces);
      return faces;
    }));
  }

  async function detect(image: RawImage, options: DetectOptions = {}): Promise<Face[]> {
    return (await detectMany([image], options))[0];
  }

  async function detectFaces(
    bytes: Uint8Array,
    options: DetectOptions & DecodeOptions = {},
  ): Promise<{ image: RawImage; faces: AlignedFace[] }> {
    const image = await decodeImage(bytes, options);
    const faces = await detect(image, options);
    return { image, faces: faces.map((f) => ({ ...f, aligned224: alignedCrop(image, f, 224) })) };
  }

  return {
    detector: (await session(DEFAULT_DETECTOR))[0],
    landmarker,
    detect,
    detectMany,
    detectFaces,
    // Idempotent: the registry releases the pipeline it holds, and so may the code that created it.
    release() {
      return released ??= (async () => {
        const opened = await Promise.all([...sessions.values()].map((s) => s.catch(() => undefined)));
        await Promise.all([landmarker.release(), ...opened.map((s) => s?.release())]);
      })();
    },
  };
}

/**
 * The face detector the registry serves with: a pipeline with every detector net and the landmark net opened
 * and warmed once on a blank frame (so the first request does not pay for it, and a broken `detector=tiny` model
 * stops the start instead of failing every request that names it later) and `prepareFaceInput` for the crops. No catch: a server without
 * its face models must not become ready (startup fails instead).
 */
export async function createFaceDetector(options: FacePipelineOptions): Promise<{
  pipeline: FacePipeline;
  detect: FacePipeline["detect"];
  detectMany: FacePipeline["detectMany"];
  prepare: typeof prepareFaceInput;
  release: () => Promise<void>;
}> {
  const pipeline = await createFacePipeline(options);
  const blank = { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, channels: 3 as const };
  // Each net once (not each detector: `ssd-multiscale` on a blank frame would run all its pyramid passes for
  // nothing), then the landmark net on one made-up box, so the first request pays for none of them.
  const warmed = new Set<string>();
  for (const detector of DETECTOR_NAMES) {
    const files = DETECTORS[detector].nets.map((n) => n.file);
    if (files.every((f) => warmed.has(f))) continue;
    await pipeline.detect(blank, { landmarks: false, detector });
    files.forEach((f) => warmed.add(f));
  }
  const box = { x: 8, y: 8, width: 48, height: 48 };
  await addLandmarks(pipeline.landmarker, blank, [{ box, score: 1 }], [{ box, score: 1 }]);
  return {
    pipeline,
    detect: (image, o) => pipeline.detect(image, o),
    detectMany: (images, o) => pipeline.detectMany(images, o),
    prepare: prepareFaceInput,
    release: () => pipeline.release(),
  };
}
