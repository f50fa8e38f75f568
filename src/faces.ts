/**
 * The faces pipeline: image -> faces `{box, score, landmarks68, landmarks5}` -> model inputs. It runs face-api's
 * SSD MobileNetV1 detector, 68-point landmark net and expression net as ONNX (built by `deno task models`) with
 * face-api's exact pre- and post-processing (padding, resize, NMS, box and landmark mapping, the landmark-derived
 * crop of the expression net), so results match face-api's `detectAllFaces().withFaceLandmarks()
 * .withFaceExpressions()`. Used by the API (src/classify.ts), the CLI (src/detect.ts) and training data
 * preparation (train/prepare.ts, through `alignFace` and `detectFaces`).
 */
import { join } from "node:path";
import { type FloatPixels, type RawPixels, toTensor } from "../model/preprocess.ts";
import type { InputSpec } from "../model/manifest.ts";
import { CANONICAL_LABELS, canonicalIndex, type ExpressionLabel } from "../model/spec.ts";
import { alignFace, landmarks5From68, type Point, warpAffine } from "./align.ts";
import { type IntBox, padSquareResize } from "./crop.ts";
import { decodeImage, type DecodeOptions, type RawImage } from "./image.ts";
import { nonMaxSuppression } from "./nms.ts";
import { decodeTinyGrid } from "./tiny_detector.ts";
import { type ExecutionProvider, type ModelSession, openModel } from "./session.ts";

/** Manifest file names of the three face-api nets inside the model folder. */
export const FACE_MODELS = {
  detector: "face-detector-ssd.manifest.json",
  landmarks: "face-landmarks68.manifest.json",
  expression: "face-expression.manifest.json",
  /** Optional faster detector (face-api's Tiny Face Detector), opened on first use. */
  tinyDetector: "face-detector-tiny.manifest.json",
} as const;

/** A rectangle in original image pixels (floats). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One detected face, in original image pixels (after EXIF rotation). */
export interface Face {
  /** Detector box, clipped to the image. */
  box: Box;
  /** Detector confidence, 0..1. */
  score: number;
  /** iBUG 68-point layout (0-16 jaw, 36-41 eye on the image left, 48 and 54 mouth corners, ...). */
  landmarks68?: Point[];
  /** Image-left eye centre, image-right eye centre, nose tip, image-left mouth corner, image-right mouth corner. */
  landmarks5?: Point[];
}

export interface DetectOptions {
  /** Keep detections scoring strictly above this (face-api's `minConfidence`). */
  minConfidence?: number;
  /** Most faces returned (highest scores first). */
  maxFaces?: number;
  /** Drop faces whose box is smaller than this many pixels on its shorter side. */
  minFaceSize?: number;
  /** Run the 68-point landmark net (needed for alignment and for face-api's expression crop). */
  landmarks?: boolean;
  /**
   * `ssd` (default): face-api's SSD MobileNetV1, the accurate one. `tiny`: face-api's Tiny Face Detector (416 px
   * input, ~16x fewer FLOPs, misses more small and profile faces).
   */
  detector?: "ssd" | "tiny";
}

/** The baseline expression model's answer for one face: canonical labels, probabilities summing to 1. */
export interface BaselineExpression {
  label: ExpressionLabel;
  scores: Record<ExpressionLabel, number>;
}

/** A face with its aligned crop, as training preparation wants it. */
export interface AlignedFace extends Face {
  /** 224x224 RGB aligned on the five landmarks (the box crop resized when landmarks are missing). */
  aligned224: RawImage;
}

export interface FacePipeline {
  detector: ModelSession;
  landmarker: ModelSession;
  expression: ModelSession;
  /** Detects faces, sorted by score; an image without faces gives `[]`. Landmarks run as one batch. */
  detect(image: RawImage, options?: DetectOptions): Promise<Face[]>;
  /** Runs the face-api expression net on all faces in one batch (face-api's landmark-based crop). */
  classifyBaseline(image: RawImage, faces: readonly (Face | null)[]): Promise<BaselineExpression[]>;
  /** Decode + detect + align each face to 224x224 (`decodeImage` errors propagate as `ApiError`). */
  detectFaces(
    bytes: Uint8Array,
    options?: DetectOptions & DecodeOptions,
  ): Promise<{ image: RawImage; faces: AlignedFace[] }>;
  release(): Promise<void>;
}

export interface FacePipelineOptions {
  modelDir?: string;
  executionProvider?: ExecutionProvider;
  intraOpNumThreads?: number;
}

/**
 * face-api's box bookkeeping, float for float: a detection box is kept relative to the image and rescaled
 * (`forSize`) before `extractFaceTensors` clips it at the borders and floors it. Returns null for an empty crop.
 */
export function faceApiCropBox(box: Box, width: number, height: number): IntBox | null {
  const rel = (v: number, s: number) => (v * (1 / s)) * s;
  const x = rel(rel(box.x, width), width), y = rel(rel(box.y, height), height);
  const w = rel(rel(box.width, width), width), h = rel(rel(box.height, height), height);
  const cx = Math.max(x, 0), cy = Math.max(y, 0);
  const cw = Math.min(x + w - cx, width - cx), ch = Math.min(y + h - cy, height - cy);
  const out = { x: Math.floor(cx), y: Math.floor(cy), width: Math.floor(cw), height: Math.floor(ch) };
  return out.width > 0 && out.height > 0 ? out : null;
}

/** face-api's `alignedRect`: the landmarks' bounding box grown by 20% (10% each side), used for expressions. */
export function faceApiAlignedBox(landmarks68: readonly Point[]): Box {
  let minX = Infinity, minY = Infinity, maxX = 0, maxY = 0;
  for (const [x, y] of landmarks68) {
    if (x < minX) minX = x;
    if (y < minY) minY = y;
    if (maxX < x) maxX = x;
    if (maxY < y) maxY = y;
  }
  const w = maxX - minX, h = maxY - minY;
  return { x: minX - w * 0.2 / 2, y: minY - h * 0.2 / 2, width: w + w * 0.2, height: h + h * 0.2 };
}

/**
 * The exact input crop an expression model expects for one face (`face === null`: the whole image is the face).
 * `spec.resize === "pad-square"` (face-api nets): face-api's crop (landmark box + 20% when landmarks exist, else
 * the detector box), zero-padded to a centred square and resized bilinearly, unrounded float pixels.
 * `"fill"` (SCAN+CCI): the five-point aligned face, or the box (or whole image) stretched when there are no
 * landmarks.
 */
export function prepareFaceInput(
  image: RawImage,
  face: Face | null,
  spec: InputSpec,
): RawPixels | FloatPixels {
  const { width, height } = spec.size;
  if (spec.resize === "pad-square") {
    if (width !== height) {
      throw new Error(`Cannot prepare face: pad-square needs a square input, got ${width}x${height}`);
    }
    const whole = { x: 0, y: 0, width: image.width, height: image.height };
    const box = face === null ? whole : faceApiCropBox(
      face.landmarks68 ? faceApiAlignedBox(face.landmarks68) : face.box,
      image.width,
      image.height,
    );
    const data = padSquareResize(image, box ?? whole, width, { center: true });
    return { data, width, height, channels: 3 };
  }
  return alignedCrop(image, face, width, height);
}

/**
 * The `fill` crop: the face aligned on its five landmarks (square outputs), else its box (or the whole image for
 * `null`) stretched to `width`x`height` with pixel centres on integers, bilinear, black outside the image.
 */
export function alignedCrop(image: RawImage, face: Face | null, width = 224, height = width): RawImage {
  if (face?.landmarks5 && width === height) return alignFace(image, face.landmarks5, width);
  const b = face?.box ?? { x: 0, y: 0, width: image.width, height: image.height };
  const sx = width / Math.max(b.width, 1e-6), sy = height / Math.max(b.height, 1e-6);
  return warpAffine(image, [sx, 0, (0.5 - b.x) * sx - 0.5, 0, sy, (0.5 - b.y) * sy - 0.5], width, height);
}

function sideOf(spec: InputSpec): number {
  return spec.size.width;
}

/** True when `toTensor` would copy NHWC RGB values unchanged (face-api's nets normalise inside the graph). */
function isIdentity(spec: InputSpec): boolean {
  return spec.layout === "NHWC" && spec.channelOrder === "RGB" && spec.scale === 1 &&
    spec.mean.every((m) => m === 0) && spec.std.every((s) => s === 1);
}

async function openFaceModel(
  modelDir: string,
  file: string,
  options: FacePipelineOptions,
): Promise<ModelSession> {
  const path = join(modelDir, file);
  try {
    await Deno.stat(path);
  } catch {
    const out = modelDir.replace(/\/+$/, "") === "model" ? "" : ` --out ${modelDir}`;
    throw new Error(`Cannot open face model: ${path} is missing; build it with \`deno task models${out}\``);
  }
  return await openModel(path, options);
}

/** Opens the detector, landmark and baseline expression models once; reuse the pipeline for every image. */
export async function createFacePipeline(
  { modelDir = "model", executionProvider = "cpu", intraOpNumThreads }: FacePipelineOptions = {},
): Promise<FacePipeline> {
  const opts = { executionProvider, intraOpNumThreads };
  const detector = await openFaceModel(modelDir, FACE_MODELS.detector, opts);
  const landmarker = await openFaceModel(modelDir, FACE_MODELS.landmarks, opts);
  const expression = await openFaceModel(modelDir, FACE_MODELS.expression, opts);
  const detSpec = detector.manifest.input,
    lmSpec = landmarker.manifest.input,
    exSpec = expression.manifest.input;
  const boxesName = detector.manifest.outputs.find((o) => o.name === "boxes")?.name ?? "boxes";
  const scoresName = detector.manifest.outputs.find((o) => o.name === "scores")?.name ?? "scores";

  let tiny: Promise<ModelSession> | undefined;

  /** SSD MobileNetV1 as face-api's `locateFaces`: boxes clipped to the padded square, then to original pixels. */
  async function runSsd(image: RawImage, minConfidence: number): Promise<{ box: Box; score: number }[]> {
    const { width: W, height: H } = image;
    const size = sideOf(detSpec);
    const pixels = padSquareResize(image, { x: 0, y: 0, width: W, height: H }, size, { center: false });
    const input = isIdentity(detSpec)
      ? pixels
      : toTensor({ data: pixels, width: size, height: size, channels: 3 }, detSpec);
    const out = await detector.run({ [detSpec.name]: { data: input, dims: [1, size, size, 3] } });
    const boxes = out[boxesName].data, scores = out[scoresName].data;
    const kept = nonMaxSuppression(boxes, scores, {
      maxOutput: 100,
      iouThreshold: 0.5,
      scoreThreshold: minConfidence,
    });
    // face-api maps relative boxes of the padded square back through the rounded resized size.
    const scale = size / Math.max(W, H);
    // (max 1: a 20000x5 strip would otherwise divide by zero; face-api itself returns NaN boxes there)
    const padX = size / Math.max(1, Math.round(W * scale)), padY = size / Math.max(1, Math.round(H * scale));
    return kept.map((i) => {
      const top = Math.max(0, boxes[4 * i]) * padY, bottom = Math.min(1, boxes[4 * i + 2]) * padY;
      const left = Math.max(0, boxes[4 * i + 1]) * padX, right = Math.min(1, boxes[4 * i + 3]) * padX;
      return {
        box: { x: left * W, y: top * H, width: (right - left) * W, height: (bottom - top) * H },
        score: scores[i],
      };
    });
  }

  /** The Tiny Face Detector as face-api's `TinyFaceDetector.locateFaces` (416 px, score > minConfidence). */
  async function runTiny(image: RawImage, minConfidence: number): Promise<{ box: Box; score: number }[]> {
    tiny ??= openFaceModel(modelDir, FACE_MODELS.tinyDetector, opts);
    let session: ModelSession;
    try {
      session = await tiny;
    } catch (err) {
      tiny = undefined; // let a later call retry once the model is built
      throw err;
    }
    const spec = session.manifest.input, size = sideOf(spec);
    const { width: W, height: H } = image;
    const pixels = padSquareResize(image, { x: 0, y: 0, width: W, height: H }, size, { center: false });
    const input = isIdentity(spec)
      ? pixels
      : toTensor({ data: pixels, width: size, height: size, channels: 3 }, spec);
    const out = await session.run({ [spec.name]: { data: input, dims: [1, size, size, 3] } });
    const anchors = session.manifest.architecture.details?.anchors as [number, number][];
    return decodeTinyGrid(out[session.manifest.outputs[0].name].data, {
      width: W,
      height: H,
      inputSize: size,
      anchors,
      scoreThreshold: minConfidence,
    });
  }

  async function detect(
    image: RawImage,
    { minConfidence = 0.5, maxFaces = 20, minFaceSize = 0, landmarks = true, detector: which = "ssd" }:
      DetectOptions = {},
  ): Promise<Face[]> {
    const { width: W, height: H } = image;
    const found = which === "tiny" ? await runTiny(image, minConfidence) : await runSsd(image, minConfidence);
    const raw = found.filter((d) => Math.min(d.box.width, d.box.height) >= minFaceSize).slice(0, maxFaces);
    const faces: Face[] = raw.map(({ box, score }) => ({ box: clipBox(box, W, H), score }));
    if (!landmarks || raw.length === 0) return faces;

    const side = sideOf(lmSpec), per = side * side * 3;
    const crops = raw.map((d) => faceApiCropBox(d.box, W, H));
    const idx = crops.flatMap((c, i) => (c ? [i] : []));
    if (idx.length === 0) return faces;
    const batch = new Float32Array(idx.length * per);
    const scratch = new Float32Array(per);
    idx.forEach((i, b) => {
      if (isIdentity(lmSpec)) {
        padSquareResize(image, crops[i]!, side, { center: true, out: batch, offset: b * per });
      } else {
        padSquareResize(image, crops[i]!, side, { center: true, out: scratch });
        toTensor({ data: scratch, width: side, height: side, channels: 3 }, lmSpec, batch, b * per);
      }
    });
    const lmOut = await landmarker.run({ [lmSpec.name]: { data: batch, dims: [idx.length, side, side, 3] } });
    const lm = lmOut[landmarker.manifest.outputs[0].name].data;
    idx.forEach((i, b) => {
      const crop = crops[i]!;
      // face-api's postProcess: undo the centred padding, relative to the crop, then shift by the raw box.
      const s = side / Math.max(crop.width, crop.height);
      const sw = crop.width * s, sh = crop.height * s;
      const padLX = sw < sh ? Math.abs(sw - sh) / 2 : 0, padLY = sh < sw ? Math.abs(sw - sh) / 2 : 0;
      const pts: Point[] = [];
      for (let k = 0; k < 68; k++) {
        const rx = (lm[b * 136 + 2 * k] * side - padLX) / sw,
          ry = (lm[b * 136 + 2 * k + 1] * side - padLY) / sh;
        pts.push([rx * crop.width + raw[i].box.x, ry * crop.height + raw[i].box.y]);
      }
      faces[i].landmarks68 = pts;
      faces[i].landmarks5 = landmarks5From68(pts);
    });
    return faces;
  }

  async function classifyBaseline(
    image: RawImage,
    faces: readonly (Face | null)[],
  ): Promise<BaselineExpression[]> {
    if (faces.length === 0) return [];
    const side = sideOf(exSpec), per = side * side * 3;
    const batch = new Float32Array(faces.length * per);
    faces.forEach((f, b) => toTensor(prepareFaceInput(image, f, exSpec), exSpec, batch, b * per));
    const dims = exSpec.layout === "NHWC" ? [faces.length, side, side, 3] : [faces.length, 3, side, side];
    const out = await expression.run({ [exSpec.name]: { data: batch, dims } });
    const probs = out[expression.manifest.outputs[0].name].data;
    const labels = expression.manifest.labels;
    const k = labels.length;
    return faces.map((_, b) => {
      const scores = Object.fromEntries(CANONICAL_LABELS.map((l) => [l, 0])) as Record<
        ExpressionLabel,
        number
      >;
      labels.forEach((name, j) => {
        const c = canonicalIndex(name);
        if (c >= 0) scores[CANONICAL_LABELS[c]] = probs[b * k + j];
      });
      const label = CANONICAL_LABELS.reduce(
        (best, l) => (scores[l] > scores[best] ? l : best),
        CANONICAL_LABELS[0],
      );
      return { label, scores };
    });
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
    detector,
    landmarker,
    expression,
    detect,
    classifyBaseline,
    detectFaces,
    async release() {
      const t = tiny ? await tiny.catch(() => undefined) : undefined;
      await Promise.all([detector.release(), landmarker.release(), expression.release(), t?.release()]);
    },
  };
}

function clipBox(b: Box, width: number, height: number): Box {
  const x = Math.min(Math.max(b.x, 0), width), y = Math.min(Math.max(b.y, 0), height);
  const r = Math.min(Math.max(b.x + b.width, 0), width), btm = Math.min(Math.max(b.y + b.height, 0), height);
  return { x, y, width: r - x, height: btm - y };
}
