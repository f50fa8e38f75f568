/** Handler for `POST /v1/videos/frames` (frames in, per-frame faces and per-track summaries out), and its list. */
import type { RouteHandler, z } from "@hono/zod-openapi";
import type { VideoFormRequest, VideoJsonRequest } from "../openapi/schemas.ts";
import { ApiError } from "../src/errors.ts";
import { assembleVideo, checkSmoothing, smoothingOf } from "../src/video.ts";
import { classifyFrames } from "./videos.routes.ts";
import type { AppEnv } from "./context.ts";
import { endpoint } from "./endpoint.ts";
import {
  ACCEPTED,
  fileBytes,
  fromBase64,
  isJson,
  parseTimestamps,
  unsupportedType,
  withBodyOptions,
} from "./input.ts";
import { analyzeRequest, beginInference, modelRef, roundTimings } from "./results.ts";

/** Reads the frames (multipart or JSON) and options, analyses them in batches, assembles tracks. */
export const classifyFramesHandler: RouteHandler<typeof classifyFrames, AppEnv> = async (c) => {
  const { config } = c.get("deps");
  // Videos have their own, longer deadline (VIDEO_TIMEOUT_MS): 256 frames take tens of seconds on CPU.
  const { deadline, type } = beginInference(c, config.videoTimeoutMs);
  let inputs: Uint8Array[];
  let timestamps: (number | undefined)[];
  let options = c.req.valid("query");
  const tooMany = (n: number) =>
    new ApiError(
      "too_many_frames",
      `Cannot accept ${n} frames: the limit is ${config.maxFrames} per request`,
    );
  if (type === "multipart/form-data") {
    // One route, two body types: `valid` types each target as their union; the media type picks one.
    const form = c.req.valid("form") as z.output<typeof VideoFormRequest>;
    if (form.frames.length > config.maxFrames) throw tooMany(form.frames.length);
    timestamps = parseTimestamps(form.timestamps, form.frames.length);
    inputs = await Promise.all(form.frames.map(fileBytes));
  } else if (isJson(type)) {
    const { frames, ...fromBody } = c.req.valid("json") as z.output<typeof VideoJsonRequest>;
    if (frames.length > config.maxFrames) throw tooMany(frames.length);
    inputs = frames.map((f, i) => fromBase64(f.image, `frames.${i}.image`));
    timestamps = frames.map((f) => f.timestamp);
    options = withBodyOptions(options, fromBody);
  } else if (type === "") {
    throw new ApiError("invalid_request", "Cannot read request: no body (send multipart `frames` or JSON)", {
      issues: [{ path: "(body)", message: "frames are required" }],
    });
  } else {
    throw unsupportedType(type, ACCEPTED.frames);
  }
  checkSmoothing(options);
  const { model, result } = await analyzeRequest(c, inputs, options, { deadline, frames: true });
  const { frames, tracks } = assembleVideo(result.images, timestamps, {
    track: options.track,
    smoothing: smoothingOf(options),
  });
  return c.json({ model: modelRef(model), frames, tracks, timings: roundTimings(result.timings) }, 200);
};

/** The videos resource. */
export const VIDEO_ENDPOINTS = [
  endpoint(classifyFrames, classifyFramesHandler, { accepted: ACCEPTED.frames }),
];
