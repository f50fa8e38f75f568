/**
 * The one orchestrator of inference: image bytes -> decoded RGB -> faces (detected, or the whole image as a crop)
 * -> the exact input crop the model wants -> one tensor per face -> the model's shared micro-batcher -> softmax
 * -> canonical expression scores (mapped by label name through the manifest). Images of one request (video
 * frames) are decoded and detected concurrently (up to IMAGE_CONCURRENCY across the server), results keep the
 * input order, frames go through the detector in batches (`detectBatch`) and faces are handed to the batcher
 * in chunks of `maxBatch`, so a request costs as few model runs as possible.
 */
import { ApiError } from "./errors.ts";
import { decodeImage, encodePng, type RawImage } from "./image.ts";
import type { Batcher } from "./batcher.ts";
import type { Manifest } from "../model/manifest.ts";
import { type FloatPixels, type RawPixels, toTensor } from "../model/preprocess.ts";
import { toCanonical } from "../model/spec.ts";
import type { Box } from "./box.ts";
import type { DetectorName } from "./faces/detectors.ts";
import { attentionOverlay, resizeRgb } from "./attention.ts";
import type { Semaphore } from "./semaphore.ts";

/** What one model run returns per face. */
export interface FaceOutput {
  scores: Float32Array;
  attention?: Float32Array;
}

/** A face as the face pipeline reports it (landmarks as `[x, y]` or `{x, y}` points). */
export interface DetectedFace {
  box: Box;
  score: number;
  landmarks68?: ArrayLike<unknown>;
  landmarks5?: ArrayLike<unknown>;
}

/** The part of the face pipeline (src/faces/pipeline.ts) the orchestrator needs. */
export interface FaceDetector {
  detect(
    image: RawImage,
    options: {
      minConfidence: number;
      maxFaces: number;
      minFaceSize: number;
      landmarks: boolean;
      detector?: DetectorName;
    },
  ): Promise<DetectedFace[]>;
  /**
   * `detect` on several frames with the detector run as one batch (same faces per frame); without it the
   * frames of a request are detected one by one.
   */
  detectMany?(
    images: readonly RawImage[],
    options: Parameters<FaceDetector["detect"]>[1],
  ): Promise<DetectedFace[][]>;
  prepare(
    image: RawImage,
    face: DetectedFace | null,
    input: Manifest["input"],
  ): Promise<RawPixels | FloatPixels> | RawPixels | FloatPixels;
  /** Releases the detector's model sessions (the registry's `close`). */
  release?(): Promise<void>;
}

/** An expression model ready to serve: manifest plus its batcher. */
export interface ExpressionModel {
  id: string;
  version: string;
  manifest: Manifest;
  hasAttention: boolean;
  batcher: Batcher<Float32Array, FaceOutput>;
}

/** The request options that shape an analysis (validated by the API, defaults applied). */
export interface AnalyzeOptions {
  detect: boolean;
  maxFaces: number;
  minFaceSize: number;
  minConfidence: number;
  landmarks: boolean;
  attention: boolean;
  /** Face detector (a `DETECTORS` name; default the table's first). */
  detector?: DetectorName;
}

/** What an analysis runs with: model, detector, limits, deadline. */
export interface AnalyzeContext {
  model: ExpressionModel;
  faces?: FaceDetector;
  maxPixels: number;
  /** `performance.now()` deadline of the request. */
  deadline: number;
  /** Request id, so the batcher can count callers per batch. */
  tag: string;
  maxBatch: number;
  /** Bounds concurrent decode + detection across all requests (see src/semaphore.ts). */
  imageSlots?: Semaphore;
  /** The images are video frames: errors about one of them start with `frames[i]: `. */
  frames?: boolean;
  /** Background work (video jobs): the batcher runs waiting request faces first. */
  background?: boolean;
  /**
   * Aborts when the request is abandoned (client gone, deadline passed): images not yet decoded or detected
   * are skipped, queued faces leave the batcher, and the analysis rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /** Frames decoded and detected together, in one detector run, when the detector can batch (default 8). */
  detectBatch?: number;
}

/**
 * Frames per detector batch. One SSD run over 8 frames costs less per frame than 8 runs (`tests/bench/video.ts`'s
 * detectMany rows: 1.24x the frames/s of batch 1, batch 4 1.06x, on 2 loaded cores); the batch's activations hold
 * a few hundred MB while it runs, so it is not larger.
 */
export const DETECT_BATCH = 8;

/** One face of one image, scores in canonical label order. */
export interface AnalyzedFace {
  box: Box;
  /** The detector's score; `null` with `detect=false` (no detector ran, so there is no score to report). */
  detectionScore: number | null;
  landmarks?: { points68: [number, number][]; points5: [number, number][] };
  scores: number[];
  attention?: string;
}

/** One analysed image: its size and its faces in detection order. */
export interface AnalyzedImage {
  width: number;
  height: number;
  faces: AnalyzedFace[];
}

/** The analysed images, in input order, and the per-stage timings. */
export interface AnalyzeResult {
  images: AnalyzedImage[];
  /**
   * Wall-clock ms per stage. `classifyMs` (first face queued -> last result) = `framesWaitMs` (other frames
   * of the request still waiting for or in decode and detection, no run of ours going) + `queueMs` (waiting
   * for the model: queue and other requests' runs) + `inferenceMs` (runs holding this request's faces).
   */
  timings: {
    decodeMs: number;
    detectMs: number;
    classifyMs: number;
    framesWaitMs: number;
    queueMs: number;
    inferenceMs: number;
    totalMs: number;
  };
}

/** A detected face's landmarks as the answers carry them (`[x, y]` points; an absent set is empty). */
export function faceLandmarks(
  f: DetectedFace,
): { points68: [number, number][]; points5: [number, number][] } {
  return { points68: points(f.landmarks68) ?? [], points5: points(f.landmarks5) ?? [] };
}

function points(list: ArrayLike<unknown> | undefined): [number, number][] | undefined {
  if (!list) return undefined;
  return Array.from(list, (p) => {
    if (Array.isArray(p)) return [Number(p[0]), Number(p[1])];
    const q = p as { x?: number; y?: number };
    return [q.x ?? 0, q.y ?? 0];
  });
}

function checkDeadline(deadline: number, what: string) {
  if (performance.now() > deadline) {
    throw new ApiError("deadline_exceeded", `Cannot finish request: the deadline passed while ${what}`);
  }
}

/** Rejects with 504 when `deadline` (a `performance.now()` time) passes before `promise` settles. */
export function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ApiError("deadline_exceeded", `Cannot finish request: no answer within the request deadline`),
        ),
      Math.max(0, deadline - performance.now()),
    );
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Numerically stable softmax of one row. */
export function softmax(row: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  const e = Array.from(row, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

interface Slot {
  image: number;
  face: AnalyzedFace;
  crop?: RawPixels | FloatPixels;
  result?: Promise<FaceOutput>;
}

/** Milliseconds covered by the union of `[start, end]` intervals: a stage's wall time across parallel images. */
export function unionMs(intervals: readonly [number, number][]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of sorted) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/**
 * An error about one frame, with `frames[i]: ` in front of its message (same code); its issues' paths start
 * with `frames.i` (the zod form of the JSON body's paths), their messages with the new path.
 */
function aboutFrame(err: unknown, i: number): unknown {
  if (!(err instanceof ApiError) || err.code === "deadline_exceeded") return err;
  return new ApiError(err.code, `frames[${i}]: ${err.message}`, {
    issues: err.issues?.map((x) => ({
      path: `frames.${i}${x.path === "(body)" ? "" : "." + x.path}`,
      message: x.message.startsWith(`${x.path}: `) ? x.message.slice(x.path.length + 2) : x.message,
    })),
    retryAfterSeconds: err.retryAfterSeconds,
    cause: err,
  });
}

/**
 * Analyses a list of encoded images or decoded RGB frames (one photo, or the frames of a video) with one
 * model. Images are decoded (frames already are) and face-detected concurrently (bounded by `ctx.imageSlots`,
 * the server-wide IMAGE_CONCURRENCY) and their faces go to the batcher in chunks of `maxBatch` as soon as they
 * are ready. Throws `ApiError` for bad input
 * (422/413/415 from decoding; with `ctx.frames`, prefixed `frames[i]: `), 503 when detection is asked for but no
 * detector is loaded or the queue is full, and 504 past the deadline. Timings are wall-clock per stage for the
 * request: the time during which at least one image was in that stage.
 */
export async function analyzeImages(
  inputs: readonly (Uint8Array | RawImage)[],
  options: AnalyzeOptions,
  ctx: AnalyzeContext,
): Promise<AnalyzeResult> {
  const t0 = performance.now();
  const { model } = ctx;
  if (options.attention && !model.hasAttention) {
    throw new ApiError(
      "invalid_request",
      `Cannot return attention: model "${model.id}" has no attention_map output (use a SCAN+CCI model)`,
    );
  }
  if (options.landmarks && !options.detect) {
    // Landmarks come from the detection pass; a crop sent with detect=false has none to return.
    throw new ApiError(
      "invalid_request",
      "Cannot return landmarks with detect=false: landmarks come from face detection (set detect=true)",
      { issues: [{ path: "landmarks", message: "needs detect=true" }] },
    );
  }
  if (options.detect && !ctx.faces) {
    throw new ApiError(
      "not_ready",
      "Cannot detect faces: no face detector is loaded (run `deno task models`)",
    );
  }
  const spec = model.manifest.input;
  const floats = 3 * spec.size.width * spec.size.height;
  const decodeSpans: [number, number][] = [];
  const detectSpans: [number, number][] = [];
  const runSpans: [number, number][] = [];
  const images: AnalyzedImage[] = new Array(inputs.length);
  const slots: Slot[] = [];
  let chunk: { slot: Slot; tensor: Float32Array }[] = [];
  let firstSubmit = 0;
  let lastReady = 0;
  let failed = false;

  function submit() {
    if (!chunk.length) return;
    if (!firstSubmit) firstSubmit = performance.now();
    const promises = model.batcher.submit(chunk.map((c) => c.tensor), {
      deadline: ctx.deadline,
      tag: ctx.tag,
      onRun: (a, b) => runSpans.push([a, b]),
      ...(ctx.background ? { background: true } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    chunk.forEach((c, i) => {
      c.slot.result = promises[i];
      // Attach a handler now so a rejection before we await it is not reported as unhandled.
      promises[i].catch(() => {});
    });
    chunk = [];
  }

  const detectOptions = {
    minConfidence: options.minConfidence,
    maxFaces: options.maxFaces,
    minFaceSize: options.minFaceSize,
    // Always: the crops need them (5-point alignment for SCAN+CCI, face-api's landmark box for the
    // baseline); they are only returned when asked for.
    landmarks: true,
    ...(options.detector ? { detector: options.detector } : {}),
  };
  /** `err` as the request reports it: with `frames[i]: ` in front when the images are frames. */
  const about = (i: number) => (err: unknown): never => {
    throw ctx.frames ? aboutFrame(err, i) : err;
  };

  /**
   * Decode, detect and crop a group of images (one detector batch); their face tensors join the chunk (outside
   * the image slot). A detector error is reported for the group's first frame (the batch failed as a whole).
   */
  async function analyzeGroup(group: readonly number[]): Promise<{ slot: Slot; tensor: Float32Array }[]> {
    // A sibling frame failed: the request is lost, so skip the work still waiting for a slot.
    if (failed) return [];
    ctx.signal?.throwIfAborted();
    const decoded = await settleAll(group.map(async (i) => {
      checkDeadline(ctx.deadline, `decoding image ${i}`);
      const t = performance.now();
      const input = inputs[i];
      // Frames decoded by ffmpeg (video jobs) arrive as RGB already; only encoded images go through sharp.
      const image = input instanceof Uint8Array
        ? await decodeImage(input, { maxPixels: ctx.maxPixels }).catch(about(i))
        : input;
      decodeSpans.push([t, performance.now()]);
      return image;
    }));
    ctx.signal?.throwIfAborted();
    const t = performance.now();
    const detected: (DetectedFace | null)[][] = !options.detect
      ? decoded.map(() => [null])
      : decoded.length > 1 && ctx.faces!.detectMany
      ? await ctx.faces!.detectMany(decoded, detectOptions).catch(about(group[0]))
      : await settleAll(
        decoded.map((image, k) => ctx.faces!.detect(image, detectOptions).catch(about(group[k]))),
      );
    const ready: { slot: Slot; tensor: Float32Array }[] = [];
    for (const [k, i] of group.entries()) {
      ready.push(...await cropFaces(i, decoded[k], detected[k]).catch(about(i)));
    }
    detectSpans.push([t, performance.now()]);
    return ready;
  }

  /** The model input of every face found in image `i`; records the image's answer skeleton. */
  async function cropFaces(
    i: number,
    image: RawImage,
    found: readonly (DetectedFace | null)[],
  ): Promise<{ slot: Slot; tensor: Float32Array }[]> {
    const analyzed: AnalyzedImage = { width: image.width, height: image.height, faces: [] };
    const ready: { slot: Slot; tensor: Float32Array }[] = [];
    for (const f of found) {
      // Between faces too: a crowded frame's crops (the exact warp) are the costly part once detection ran.
      ctx.signal?.throwIfAborted();
      // A frame that already has the model's input size and needs no alignment is used as it is.
      const asIs = !f && spec.resize === "fill" && image.width === spec.size.width &&
        image.height === spec.size.height;
      const crop = asIs
        ? image
        : ctx.faces
        ? await ctx.faces.prepare(image, f, spec)
        : resizeRgb(image, spec.size.width, spec.size.height);
      const face: AnalyzedFace = {
        box: f ? f.box : { x: 0, y: 0, width: image.width, height: image.height },
        detectionScore: f ? f.score : null,
        scores: [],
      };
      if (options.landmarks && f && (f.landmarks68 || f.landmarks5)) {
        face.landmarks = faceLandmarks(f);
      }
      analyzed.faces.push(face);
      const slot: Slot = { image: i, face, crop: options.attention ? crop : undefined };
      ready.push({ slot, tensor: toTensor(crop, spec, new Float32Array(floats)) });
    }
    images[i] = analyzed;
    return ready;
  }

  async function one(group: readonly number[]): Promise<void> {
    try {
      const ready = ctx.imageSlots
        ? await ctx.imageSlots.run(() => analyzeGroup(group), ctx.signal)
        : await analyzeGroup(group);
      if (failed) return;
      ctx.signal?.throwIfAborted();
      lastReady = performance.now();
      for (const item of ready) {
        slots.push(item.slot);
        chunk.push(item);
        if (chunk.length >= ctx.maxBatch) submit();
      }
    } catch (err) {
      failed = true;
      throw err;
    }
  }

  // Frames share a detector run only when the detector can batch; otherwise (and without detection) one each.
  const per = options.detect && ctx.faces?.detectMany ? Math.max(1, ctx.detectBatch ?? DETECT_BATCH) : 1;
  const groups: number[][] = [];
  for (let i = 0; i < inputs.length; i += per) {
    groups.push(Array.from({ length: Math.min(per, inputs.length - i) }, (_, k) => i + k));
  }

  try {
    await settleAll(groups.map(one));
    submit();
  } catch (err) {
    // Faces already queued still run (a batch is shared with other requests); wait for them, so that no work
    // of this request is left running once it has answered.
    await Promise.allSettled(slots.map((s) => s.result));
    throw err;
  } finally {
    chunk = [];
  }

  const outputs = await Promise.all(slots.map((s) => s.result!));
  const classifyMs = firstSubmit ? performance.now() - firstSubmit : 0;
  const inferenceMs = Math.min(classifyMs, unionMs(runSpans));
  // Time after the first chunk was queued while later frames were still being detected and none of our runs
  // was going: waiting for our own frames, not for the model (|pending \ runs| = |pending U runs| - |runs|).
  const framesWaitMs = firstSubmit && lastReady > firstSubmit
    ? Math.min(
      classifyMs - inferenceMs,
      unionMs([[firstSubmit, lastReady], ...runSpans]) - unionMs(runSpans),
    )
    : 0;
  for (let k = 0; k < slots.length; k++) {
    // The attention PNGs of a request whose client left are never sent: stop encoding them.
    if (options.attention) ctx.signal?.throwIfAborted();
    const s = slots[k];
    s.face.scores = toCanonical(outputs[k].scores, model.manifest.labels);
    if (options.attention && s.crop && outputs[k].attention) {
      s.face.attention = await attentionOverlay(s.crop, outputs[k].attention!, encodePng);
    }
  }
  // Faces were pushed in completion order; each image lists its own faces in detection order already.
  return {
    images,
    timings: {
      decodeMs: unionMs(decodeSpans),
      detectMs: unionMs(detectSpans),
      classifyMs,
      framesWaitMs,
      queueMs: classifyMs - inferenceMs - framesWaitMs,
      inferenceMs,
      totalMs: performance.now() - t0,
    },
  };
}

/**
 * Classifies already detected faces of one decoded image with `model` (`null`: the whole image is the face):
 * the same crops, batcher and label mapping as `analyzeImages`, for callers that hold the image and faces
 * (the detect CLI). Returns one canonical score vector per face, in order.
 */
export async function classifyFaces(
  model: ExpressionModel,
  faces: Pick<FaceDetector, "prepare">,
  image: RawImage,
  found: readonly (DetectedFace | null)[],
): Promise<number[][]> {
  const spec = model.manifest.input;
  const floats = 3 * spec.size.width * spec.size.height;
  const tensors = await Promise.all(
    found.map(async (f) => toTensor(await faces.prepare(image, f, spec), spec, new Float32Array(floats))),
  );
  const outputs = await Promise.all(model.batcher.submit(tensors));
  return outputs.map((o) => toCanonical(o.scores, model.manifest.labels));
}

/**
 * `Promise.all` that waits for every promise before it rejects (with the first rejection by position), so that
 * a failed frame never leaves its siblings' decoding or detection running behind the request's answer.
 */
async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}
