/**
 * Every request and response body of the API, each declared once with `.openapi("Name")`. The OpenAPI 3.1
 * document (`openapi/openapi.json`), the typed client and the runtime validation all come from these objects.
 */
import { z } from "@hono/zod-openapi";
import { CANONICAL_LABELS } from "../model/spec.ts";
import { DEFAULT_DETECTOR, DETECTOR_NAMES, DETECTORS } from "../src/faces/detectors.ts";
import { ProblemSchema } from "../src/errors.ts";
import { SMOOTHING_METHODS } from "../src/smoothing.ts";

// zod-to-openapi renders `z.coerce.number().min(0)` as nullable (Number(null) is 0); options whose minimum is 0
// state their type explicitly.

/** The flag options' schemas (before their default), so a JSON body can hold them to JSON booleans. */
const FLAGS = new WeakSet<z.ZodType>();

/** A boolean option that also accepts the strings a query string or form field carries. */
function flag(defaultValue: boolean, description: string) {
  const inner = z.union([z.boolean(), z.string()])
    .transform((v, ctx) => {
      if (typeof v === "boolean") return v;
      const t = v.trim().toLowerCase();
      if (t === "true" || t === "1") return true;
      if (t === "false" || t === "0") return false;
      ctx.addIssue({ code: "custom", message: `expected true or false, got ${JSON.stringify(v)}` });
      return z.NEVER;
    })
    .openapi({
      type: "boolean",
      default: defaultValue,
      description: `${description} (query: true/false, 1/0; JSON body: a boolean)`,
    });
  FLAGS.add(inner);
  return inner.default(defaultValue);
}

/**
 * A JSON body field held to the JSON type its document states: `"maxFaces": "1"` and `"landmarks": 1` are both
 * 400s naming the field, where the query string (all text) coerces `maxFaces=1` and `landmarks=1`.
 */
function jsonTyped(field: z.ZodType): z.ZodType {
  const expected = FLAGS.has(field) ? "boolean" : field instanceof z.ZodNumber ? "number" : undefined;
  if (!expected) return field;
  return z.preprocess((v, ctx) => {
    if (v !== undefined && typeof v !== expected) {
      ctx.addIssue({
        code: "custom",
        message: `expected a JSON ${expected}, got ${
          v === null ? "null" : `${typeof v} ${JSON.stringify(v)}`
        }`,
      });
    }
    return v;
  }, field);
}

/**
 * The option fields as a JSON body carries them: optional, with no runtime default, so a field the body leaves
 * out keeps the query string's value (`withBodyOptions`); documented with the same default as the query
 * (openapi/document.ts moves it into the description, as request bodies are input types).
 */
function bodyOptions<S extends Record<string, z.ZodType>>(
  shape: S,
): { [K in keyof S]: z.ZodOptional<S[K] extends z.ZodDefault<infer T> ? T : S[K]> } {
  return Object.fromEntries(
    Object.entries(shape).map(([k, f]) => [
      k,
      f instanceof z.ZodDefault
        ? jsonTyped(f.unwrap() as z.ZodType).optional().openapi({ default: f.def.defaultValue })
        : jsonTyped(f).optional(),
    ]),
  ) as { [K in keyof S]: z.ZodOptional<S[K] extends z.ZodDefault<infer T> ? T : S[K]> };
}

// Rebuilt from the shape: zod instances made before @hono/zod-openapi loaded have no `.openapi` method.
export const Problem = z.object(ProblemSchema.shape).openapi("Problem", {
  description: "RFC 9457 problem details (`application/problem+json`)",
});

export const ExpressionLabel = z.enum(CANONICAL_LABELS).openapi("ExpressionLabel");

export const ExpressionScores = z.object(
  Object.fromEntries(CANONICAL_LABELS.map((l) => [l, z.number().min(0).max(1)])) as Record<
    (typeof CANONICAL_LABELS)[number],
    z.ZodNumber
  >,
).openapi("ExpressionScores", {
  description: "Probability of each expression, canonical order, rounded to 1e-4 (sums to 1 within rounding)",
});

export const Expression = z.object({
  label: ExpressionLabel,
  confidence: z.number().min(0).max(1).openapi({ description: "The label's score, rounded to 1e-4" }),
  scores: ExpressionScores,
}).openapi("Expression", { description: "A facial expression estimate (not an inner emotional state)" });

export const Box = z.object({
  x: z.number(),
  y: z.number(),
  width: z.number(),
  height: z.number(),
}).openapi("Box", { description: "Face box in pixels of the (EXIF-rotated) image, rounded to 0.01 px" });

// Tuples: OpenAPI 3.1 `prefixItems` says what each place holds; `items` and the item counts are there for tools
// that read only `items` (Spectral's array-items rule, older generators).
export const Point = z.tuple([z.number(), z.number()]).openapi("Point", {
  description: "[x, y] in pixels, rounded to 0.01 px",
  items: { type: "number" },
  minItems: 2,
  maxItems: 2,
});

export const Landmarks = z.object({
  points68: z.array(Point).openapi({ description: "68-point iBUG layout" }),
  points5: z.array(Point).openapi({ description: "eyes, nose tip, mouth corners" }),
}).openapi("Landmarks");

export const FaceResult = z.object({
  box: Box,
  detectionScore: z.number().min(0).max(1).nullable().openapi({
    description: "Face detector score, rounded to 1e-4; `null` with `detect=false` (no detector ran)",
  }),
  landmarks: Landmarks.optional(),
  expression: Expression,
  attention: z.string().optional().openapi({
    description: "SCAN attention heatmap over the aligned face, as a PNG data URL (`attention=true`)",
  }),
}).openapi("FaceResult");

export const ModelRef = z.object({
  id: z.string(),
  version: z.string(),
  trained: z.boolean().openapi({ description: "false: seeded random weights, outputs are meaningless" }),
}).openapi("ModelRef", { description: "The model that answered" });

export const Timings = z.object({
  decodeMs: z.number().openapi({
    description: "Wall time during which some image of the request was decoding",
  }),
  detectMs: z.number().openapi({
    description: "Wall time during which some image was in face detection, landmarks and cropping",
  }),
  classifyMs: z.number().openapi({
    description: "First face queued to last result: `framesWaitMs` + `queueMs` + `inferenceMs`",
  }),
  framesWaitMs: z.number().openapi({
    description:
      "Part of `classifyMs` spent waiting for the request's other frames to be decoded and detected (0 for a photo)",
  }),
  queueMs: z.number().openapi({
    description: "Part of `classifyMs` spent waiting for the model (queue, other requests' runs)",
  }),
  inferenceMs: z.number().openapi({
    description: "Wall time of the model runs that held this request's faces",
  }),
  totalMs: z.number(),
}).openapi("Timings", {
  description: "Wall-clock milliseconds per stage for the whole request (stages overlap across video frames)",
});

export const ExpressionResponse = z.object({
  model: ModelRef,
  image: z.object({ width: z.number().int(), height: z.number().int() }),
  faces: z.array(FaceResult),
  timings: Timings,
}).openapi("ExpressionResponse");

// The option and body objects are strict: an unknown option (`landmark=true` for `landmarks`) is a 400 naming it,
// never silently ignored.
const optionShape = {
  model: z.string().optional().openapi({
    description: "Expression model id (default: the server's default)",
  }),
  detect: flag(true, "false: the image is already a face crop; it is classified whole"),
  maxFaces: z.coerce.number().int().min(1).max(100).default(20),
  detector: z.enum(DETECTOR_NAMES).openapi({
    description: `Face detector: ${
      DETECTOR_NAMES.map((n) => `\`${n}\` (${DETECTORS[n].description})`).join(" or ")
    }`,
  }).default(DEFAULT_DETECTOR),
  minFaceSize: z.coerce.number().int().min(0).max(10000).openapi({
    type: "integer",
    minimum: 0,
    maximum: 10000,
    default: 0,
    description: "Smallest face side in pixels",
  })
    .default(0),
  minConfidence: z.coerce.number().min(0).max(1).openapi({
    type: "number",
    minimum: 0,
    maximum: 1,
    default: 0.5,
    description: "Smallest face detection score",
  })
    .default(0.5),
  landmarks: flag(false, "Return facial landmarks (needs detect=true: they come from face detection)"),
  attention: flag(false, "Return the attention heatmap (models with an attention_map output only)"),
};

export const ExpressionOptions = z.strictObject(optionShape).openapi("ExpressionOptions");

const videoOptionShape = {
  ...optionShape,
  track: flag(true, "Link faces across frames into stable track ids"),
  smoothing: z.enum(SMOOTHING_METHODS).openapi({
    description: "Temporal smoothing of each track's scores (causal)",
  }).default("none"),
  alpha: z.coerce.number().gt(0).max(1).openapi({ description: "EMA weight of the new frame" }).default(0.5),
  window: z.coerce.number().int().min(1).max(64).openapi({ description: "Trailing window size" }).default(5),
};

export const VideoOptions = z.strictObject(videoOptionShape).openapi("VideoOptions");

// No `min(1)`: `""` is an empty image, refused 422 by the decoder like an empty file or raw body.
const base64Image = z.string().openapi({
  description: 'Base64 image bytes (JPEG, PNG, WebP, ...); a `data:` URL prefix is accepted; `""` is 422',
});

export const ExpressionJsonRequest = z.strictObject({ image: base64Image, ...bodyOptions(optionShape) })
  .openapi(
    "ExpressionJsonRequest",
  );

export const ImageFile = z.instanceof(File).openapi({ type: "string", format: "binary" });

export const ExpressionFormRequest = z.strictObject({ image: ImageFile }).openapi("ExpressionFormRequest");

export const BinaryImage = z.string().openapi({ type: "string", format: "binary" });

export const VideoFrameInput = z.strictObject({
  image: base64Image,
  timestamp: z.number().optional().openapi({ description: "Seconds (or any unit), echoed back" }),
}).openapi("VideoFrameInput");

export const VideoJsonRequest = z.strictObject({
  frames: z.array(VideoFrameInput).min(1),
  ...bodyOptions(videoOptionShape),
}).openapi("VideoJsonRequest");

export const VideoFormRequest = z.strictObject({
  frames: z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(ImageFile).min(1)),
  timestamps: z.string().optional().openapi({ description: "JSON array of numbers, one per frame" }),
}).openapi("VideoFormRequest");

export const VideoFace = FaceResult.extend({
  trackId: z.number().int().optional(),
  smoothed: Expression.optional().openapi({ description: "The track's smoothed expression at this frame" }),
}).openapi("VideoFace");

export const FrameResult = z.object({
  index: z.number().int(),
  timestamp: z.number().optional(),
  image: z.object({ width: z.number().int(), height: z.number().int() }),
  faces: z.array(VideoFace),
}).openapi("FrameResult");

export const Segment = z.tuple([z.number().int(), z.number().int(), ExpressionLabel]).openapi("Segment", {
  description: "[startFrame, endFrame, label], inclusive, after smoothing",
  items: { anyOf: [{ type: "integer" }, { $ref: "#/components/schemas/ExpressionLabel" }] },
  minItems: 3,
  maxItems: 3,
});

export const TrackSummary = z.object({
  trackId: z.number().int(),
  framesSeen: z.number().int(),
  firstFrame: z.number().int(),
  lastFrame: z.number().int(),
  meanScores: ExpressionScores,
  dominant: ExpressionLabel,
  segments: z.array(Segment),
}).openapi("TrackSummary");

export const VideoResponse = z.object({
  model: ModelRef,
  frames: z.array(FrameResult),
  tracks: z.array(TrackSummary),
  timings: Timings,
}).openapi("VideoResponse");

export const TensorSpec = z.object({
  name: z.string(),
  shape: z.array(z.union([z.number().int(), z.string()])),
  dtype: z.string(),
  description: z.string().optional(),
}).openapi("TensorSpec");

export const ModelInfo = z.object({
  id: z.string(),
  version: z.string(),
  task: z.string(),
  architecture: z.object({ name: z.string(), version: z.string() }),
  trained: z.boolean(),
  default: z.boolean(),
  ready: z.boolean(),
  provider: z.string().openapi({ description: "Execution provider in use (cpu or cuda)" }),
  fallbackReason: z.string().optional(),
  attention: z.boolean().openapi({ description: "Supports `attention=true`" }),
  labels: z.array(z.string()).openapi({
    description:
      "The model's native output order (same as `outputLabels`); response scores use `canonicalLabels`",
  }),
  outputLabels: z.array(z.string()).openapi({ description: "The model's native output order" }),
  canonicalLabels: z.array(ExpressionLabel).openapi({
    description: "The order of `scores` in every response (mapped by name from the output order)",
  }),
  input: z.object({
    name: z.string(),
    shape: z.array(z.union([z.number().int(), z.string()])),
    size: z.object({ width: z.number().int(), height: z.number().int() }),
    channelOrder: z.string(),
    layout: z.string(),
  }),
  outputs: z.array(TensorSpec),
  parameters: z.number().int(),
  gflops: z.number(),
  sha256: z.string(),
  precision: z.string(),
  provenance: z.object({ source: z.string(), tool: z.string(), seed: z.number().int().optional() }),
  metrics: z.array(z.record(z.string(), z.unknown())),
  calibration: z.object({
    temperature: z.number(),
    method: z.literal("temperature"),
    fittedOn: z.string(),
    samples: z.number().int(),
    eceBefore: z.number(),
    eceAfter: z.number(),
  }).optional().openapi({
    description: "Present when the served scores are temperature-scaled: softmax(logits / temperature) " +
      "(for a probabilities output, p^(1/temperature) renormalised); labels are unchanged. The expected " +
      "calibration errors (15 bins) are on the `samples` images it was fitted on",
  }),
  license: z.string(),
  intendedUse: z.string(),
}).openapi("ModelInfo");

export const ModelList = z.object({
  defaultModel: z.string(),
  warning: z.string().optional().openapi({
    description:
      "Present when the default model is untrained (`trained: false`): its answers are meaningless",
  }),
  models: z.array(ModelInfo),
}).openapi("ModelList");

/** No query options: any query parameter is a 400 naming it (`POST /v2/models/{id}/infer?foo=1`). */
export const NoQuery = z.strictObject({});

export const ModelIdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "faceapi-expression" }),
});

export const Health = z.object({
  status: z.enum(["ok", "loading", "draining"]),
  models: z.array(z.object({ id: z.string(), ready: z.boolean() })).optional(),
  videoJobs: z.object({
    ffmpeg: z.boolean().openapi({
      description:
        "false: `POST /v1/videos` answers 503 `ffmpeg_unavailable` (install the Debian package `ffmpeg`)",
    }),
  }).optional().openapi({ description: "Whether whole-video jobs can run (does not affect readiness)" }),
}).openapi("Health");

export const V2ServerMetadata = z.object({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()),
}).openapi("V2ServerMetadata");

export const V2Tensor = z.object({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.number().int()),
}).openapi("V2Tensor");

export const V2ModelMetadata = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(V2Tensor),
  outputs: z.array(V2Tensor),
}).openapi("V2ModelMetadata");

export const V2ModelReady = z.object({ name: z.string(), ready: z.boolean() }).openapi("V2ModelReady");

/**
 * A flat array of numbers, checked in one loop that stops at the first element that is not a number (its issue
 * names its index): `z.array(z.number())` makes one issue per bad element, and two million strings held the main
 * thread for 4.6 s.
 */
const NumberArray = z.custom<number[]>((v) => Array.isArray(v), "Invalid input: expected array")
  .superRefine((v, ctx) => {
    for (let i = 0; i < v.length; i++) {
      if (typeof v[i] === "number") continue;
      const got = v[i] === null ? "null" : Array.isArray(v[i]) ? "array" : typeof v[i];
      ctx.addIssue({ code: "custom", path: [i], message: `Invalid input: expected number, received ${got}` });
      return;
    }
  }).openapi({ type: "array", items: { type: "number" } });

// Strict like the v1 bodies: a misspelt field (`input` for `inputs`, `content` for `data`) is a 400 naming it; the
// protocol's extension point is `parameters`, which stays open.
export const V2InferInput = z.strictObject({
  name: z.string(),
  shape: z.array(z.number().int().min(0)),
  datatype: z.string().openapi({ description: "Element type; this server takes `FP32`", example: "FP32" }),
  parameters: z.record(z.string(), z.unknown()).optional(),
  data: NumberArray.openapi({ description: "The elements, flat, in row-major order" }),
}).openapi("V2InferInput", { description: "An Open Inference Protocol input tensor (JSON)" });

export const V2InferRequest = z.strictObject({
  id: z.string().optional().openapi({ description: "Echoed back" }),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z.array(V2InferInput).min(1),
  outputs: z.array(
    z.strictObject({ name: z.string(), parameters: z.record(z.string(), z.unknown()).optional() }),
  )
    .optional().openapi({ description: "The outputs to return (default: all of the model's)" }),
}).openapi("V2InferRequest");

export const V2InferOutput = z.object({
  name: z.string(),
  shape: z.array(z.number().int()),
  datatype: z.enum(["FP32"]),
  data: z.array(z.number()).openapi({ description: "The elements, flat, in row-major order" }),
}).openapi("V2InferOutput", { description: "An Open Inference Protocol output tensor (JSON)" });

export const V2InferResponse = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string().optional(),
  outputs: z.array(V2InferOutput),
}).openapi("V2InferResponse");

export const VideoJobOptions = z.strictObject({
  ...videoOptionShape,
  fps: z.coerce.number().gt(0).max(120).optional().openapi({
    type: "number",
    description: "Frames per second sampled from the video (default: the source rate)",
  }),
  start: z.coerce.number().min(0).openapi({ type: "number", minimum: 0, default: 0, description: "Seconds" })
    .default(0),
  end: z.coerce.number().gt(0).optional().openapi({
    type: "number",
    description: "Seconds (default: the end)",
  }),
  webhook: z.string().max(2048).optional().openapi({
    format: "uri",
    description:
      "http(s) URL POSTed the job JSON when it ends (succeeded, failed or cancelled), signed with " +
      "HMAC-SHA256 over the raw body in `X-Scan-Fer-Signature: sha256=<hex>` (key WEBHOOK_SECRET; without " +
      "it the upload is refused with 400); retried with a doubling delay on non-2xx or network errors. " +
      "Its host must be a public address (checked at upload and before each delivery; loopback, private, " +
      "link-local, CGNAT, unique-local and multicast are refused with 400 `webhook_refused` unless " +
      "WEBHOOK_ALLOWED_CIDRS permits them); redirects are not followed",
  }),
}).refine((o) => o.end === undefined || o.end > o.start, {
  message: "end must be after start",
  path: ["end"],
})
  .openapi("VideoJobOptions");

export const VideoUploadForm = z.strictObject({ video: ImageFile }).openapi("VideoUploadForm");

export const JobStatus = z.enum(["queued", "running", "succeeded", "failed", "cancelled"]).openapi(
  "JobStatus",
);

export const VideoInfo = z.object({
  container: z.string().openapi({ description: "ffprobe's format name" }),
  codec: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  duration: z.number().openapi({ description: "Seconds" }),
  fps: z.number().openapi({ description: "Source frame rate" }),
  frames: z.number().int().openapi({ description: "Frames in the source stream" }),
  size: z.number().int().openapi({ description: "Bytes" }),
}).openapi("VideoInfo");

export const WebhookAttempt = z.object({
  at: z.string().openapi({ format: "date-time" }),
  status: z.number().int().optional().openapi({ description: "The receiver's HTTP status" }),
  error: z.string().optional().openapi({ description: "The network error (no answer)" }),
}).openapi("WebhookAttempt");

export const JobWebhook = z.object({
  url: z.string(),
  attempts: z.array(WebhookAttempt).openapi({ description: "Delivery attempts so far, oldest first" }),
}).openapi("JobWebhook");

export const Job = z.object({
  id: z.string(),
  status: JobStatus,
  createdAt: z.string().openapi({ format: "date-time" }),
  startedAt: z.string().optional().openapi({ format: "date-time" }),
  finishedAt: z.string().optional().openapi({ format: "date-time" }),
  progress: z.object({
    done: z.number().int().openapi({ description: "Frames analysed" }),
    total: z.number().int().openapi({ description: "Frames at the sampled rate (exact once succeeded)" }),
    fps: z.number().optional().openapi({ description: "Frames analysed per second in the current run" }),
    etaSeconds: z.number().optional(),
  }),
  model: ModelRef,
  video: VideoInfo,
  frameSize: z.object({ width: z.number().int(), height: z.number().int() }).openapi({
    description: "Size frames are decoded at (boxes are in these pixels)",
  }),
  options: z.record(z.string(), z.unknown()),
  error: Problem.optional(),
  webhook: JobWebhook.optional(),
  links: z.object({ self: z.string(), results: z.string() }),
}).openapi("Job");

export const JobList = z.object({
  jobs: z.array(Job),
  limit: z.number().int(),
  offset: z.number().int(),
  next: z.string().optional().openapi({ description: "The next page, when there may be one" }),
}).openapi("JobList");

export const JobIdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" } }),
});

export const JobListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).openapi({ type: "integer", minimum: 0, default: 0 }).default(0),
});

/** The formats of a job's results. */
export const RESULT_FORMATS = ["json", "ndjson", "csv", "abaw"] as const;

export const ResultsQuery = z.strictObject({
  format: z.enum(RESULT_FORMATS).optional().openapi({
    description: "Default: from `Accept` (application/x-ndjson, text/csv), else json",
  }),
  track: z.coerce.number().int().min(0).optional().openapi({
    type: "integer",
    description: "ABAW file: the track to describe (default: the largest face of each frame)",
  }),
});

export const JobResults = z.object({
  job: z.string(),
  model: ModelRef,
  frames: z.array(FrameResult),
  tracks: z.array(TrackSummary),
}).openapi("JobResults");

export const Capabilities = z.object({
  detectors: z.array(z.string()).openapi({ description: "Face detectors a request may name (`detector`)" }),
  frames: z.object({
    maxFrames: z.number().int().openapi({ description: "Most frames in one `/v1/videos/frames` request" }),
    maxBodyBytes: z.number().int(),
    maxPixels: z.number().int().openapi({ description: "Largest decoded image (width x height)" }),
  }),
  videoJobs: z.object({
    ffmpeg: z.boolean().openapi({
      description: "Whether ffmpeg and ffprobe run here (else uploads answer 503)",
    }),
    install: z.string().optional().openapi({ description: "What to install, when ffmpeg is missing" }),
    containers: z.array(z.string()).openapi({ description: "Accepted containers (ffprobe format names)" }),
    codecs: z.array(z.string()).openapi({ description: "Accepted video codecs" }),
    resultFormats: z.array(z.enum(RESULT_FORMATS)),
    webhooks: z.boolean().openapi({
      description: "Whether uploads may give a `webhook` (WEBHOOK_SECRET is set)",
    }),
    limits: z.object({
      maxVideoBytes: z.number().int(),
      maxVideoSeconds: z.number().int(),
      maxVideoSide: z.number().int().openapi({
        description: "Frames are decoded scaled to this longer side",
      }),
      maxPixels: z.number().int(),
      concurrency: z.number().int().openapi({ description: "Jobs run at once by this instance" }),
      ttlHours: z.number().int().openapi({ description: "Hours finished jobs are kept (0: kept)" }),
    }),
  }),
}).openapi("Capabilities");
