/** Handler for `POST /v1/videos/frames`: frames in, per-frame faces and per-track summaries out. */
import type { RouteHandler, z } from "@hono/zod-openapi";
import { ApiError } from "../src/errors.ts";
import { type AnalyzedImage, analyzeImages, withDeadline } from "../src/classify.ts";
import { trackFaces } from "../src/tracking.ts";
import { argmax, meanScores, segments, type Smoothing, smoothScores } from "../src/smoothing.ts";
import { CANONICAL_LABELS } from "../model/spec.ts";
import type { classifyFrames } from "./videos.routes.ts";
import { type AppEnv, readyRegistry } from "./context.ts";
import {
  ACCEPTED,
  fileBytes,
  fromBase64,
  issuesOf,
  mediaType,
  parseOptions,
  unsupportedType,
} from "./input.ts";
import { roundTimings, toExpression, toFaceResult } from "./expressions.handlers.ts";
import { type FrameResult, type TrackSummary, VideoOptions } from "../openapi/schemas.ts";
import { z as zod } from "zod";

const Timestamps = zod.array(zod.number());

function parseTimestamps(text: string | undefined, frames: number): (number | undefined)[] {
  if (text === undefined || text === "") return new Array(frames).fill(undefined);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError("invalid_request", "Cannot read timestamps: not valid JSON", {
      issues: [{ path: "timestamps", message: "expected a JSON array of numbers" }],
    });
  }
  const r = Timestamps.safeParse(json);
  if (!r.success) {
    throw new ApiError("invalid_request", "Cannot read timestamps: expected a JSON array of numbers", {
      issues: issuesOf(r.error, "timestamps"),
    });
  }
  if (r.data.length !== frames) {
    throw new ApiError(
      "invalid_request",
      `Cannot read timestamps: ${r.data.length} given for ${frames} frames`,
      {
        issues: [{ path: "timestamps", message: `expected ${frames} values` }],
      },
    );
  }
  return r.data;
}

/** Links faces into tracks, smooths each track and summarises it. Mutates nothing; returns response parts. */
export function assembleVideo(
  images: AnalyzedImage[],
  timestamps: (number | undefined)[],
  { track, smoothing }: { track: boolean; smoothing: Smoothing },
): { frames: z.infer<typeof FrameResult>[]; tracks: z.infer<typeof TrackSummary>[] } {
  const frames: z.infer<typeof FrameResult>[] = images.map((img, index) => ({
    index,
    ...(timestamps[index] !== undefined ? { timestamp: timestamps[index] } : {}),
    image: { width: img.width, height: img.height },
    faces: img.faces.map(toFaceResult),
  }));
  if (!track) return { frames, tracks: [] };
  const ids = trackFaces(images.map((img) => img.faces.map((f) => f.box)));
  const byTrack = new Map<number, { frame: number; face: number }[]>();
  ids.forEach((row, f) =>
    row.forEach((id, i) => {
      frames[f].faces[i].trackId = id;
      if (!byTrack.has(id)) byTrack.set(id, []);
      byTrack.get(id)!.push({ frame: f, face: i });
    })
  );
  const tracks: z.infer<typeof TrackSummary>[] = [];
  for (const [trackId, obs] of [...byTrack].sort((a, b) => a[0] - b[0])) {
    const raw = obs.map((o) => images[o.frame].faces[o.face].scores);
    const smooth = smoothScores(raw, smoothing);
    if (smoothing.method !== "none") {
      obs.forEach((o, k) => frames[o.frame].faces[o.face].smoothed = toExpression(smooth[k]));
    }
    const labels = smooth.map((s) => CANONICAL_LABELS[argmax(s)]);
    const mean = meanScores(raw);
    tracks.push({
      trackId,
      framesSeen: obs.length,
      firstFrame: obs[0].frame,
      lastFrame: obs[obs.length - 1].frame,
      meanScores: toExpression(mean).scores,
      dominant: CANONICAL_LABELS[argmax(mean)],
      segments: segments(obs.map((o) => o.frame), labels) as [
        number,
        number,
        (typeof CANONICAL_LABELS)[number],
      ][],
    });
  }
  return { frames, tracks };
}

export const classifyFramesHandler: RouteHandler<typeof classifyFrames, AppEnv> = async (c) => {
  const deps = c.get("deps");
  // Videos have their own, longer deadline (VIDEO_TIMEOUT_MS): 256 frames take tens of seconds on CPU.
  const deadline = performance.now() + deps.config.videoTimeoutMs;
  const registry = readyRegistry(deps);
  const type = mediaType(c.req.header("content-type"));
  let inputs: Uint8Array[];
  let timestamps: (number | undefined)[];
  let json: Record<string, unknown> = {};
  const tooMany = (n: number) =>
    new ApiError(
      "too_many_frames",
      `Cannot accept ${n} frames: the limit is ${deps.config.maxFrames} per request`,
    );
  if (type === "multipart/form-data") {
    const form = c.req.valid("form") as { frames: File[]; timestamps?: string };
    if (form.frames.length > deps.config.maxFrames) throw tooMany(form.frames.length);
    timestamps = parseTimestamps(form.timestamps, form.frames.length);
    inputs = await Promise.all(form.frames.map(fileBytes));
  } else if (type === "application/json" || type.endsWith("+json")) {
    const body = c.req.valid("json") as { frames: { image: string; timestamp?: number }[] };
    if (body.frames.length > deps.config.maxFrames) throw tooMany(body.frames.length);
    inputs = body.frames.map((f, i) => fromBase64(f.image, `frames[${i}].image`));
    timestamps = body.frames.map((f) => f.timestamp);
    json = await c.req.json();
  } else if (type === "") {
    throw new ApiError("invalid_request", "Cannot read request: no body (send multipart `frames` or JSON)", {
      issues: [{ path: "(body)", message: "frames are required" }],
    });
  } else {
    throw unsupportedType(type, ACCEPTED.frames);
  }
  const options = parseOptions(VideoOptions, c.req.query(), json);
  const model = registry.resolve(options.model);
  const result = await withDeadline(
    analyzeImages(inputs, options, {
      model,
      faces: registry.faces,
      maxPixels: deps.config.maxPixels,
      deadline,
      tag: c.get("requestId"),
      maxBatch: deps.config.maxBatch,
      imageSlots: registry.imageSlots,
      frames: true,
    }),
    deadline,
  );
  const smoothing: Smoothing = options.smoothing === "ema"
    ? { method: "ema", alpha: options.alpha }
    : options.smoothing === "window"
    ? { method: "window", size: options.window }
    : { method: "none" };
  const { frames, tracks } = assembleVideo(result.images, timestamps, { track: options.track, smoothing });
  return c.json({
    model: { id: model.id, version: model.version, trained: model.manifest.trained },
    frames,
    tracks,
    timings: roundTimings(result.timings),
  }, 200);
};
