/** Route definition for `POST /v1/videos/frames`: a batch of frames, per-frame faces and per-track summaries. */
import { createRoute } from "@hono/zod-openapi";
import { VideoFormRequest, VideoJsonRequest, VideoOptions, VideoResponse } from "../openapi/schemas.ts";
import { errorResponses, INFERENCE_ERRORS } from "./responses.ts";

/** `POST /v1/videos/frames`. */
export const classifyFrames = createRoute({
  operationId: "classifyFrames",
  method: "post",
  path: "/v1/videos/frames",
  tags: ["videos"],
  summary: "Estimate expressions over a batch of video frames, with tracking and smoothing",
  description:
    "Up to MAX_FRAMES frames (default 256) as multipart repeated `frames` (+ optional `timestamps` JSON array) " +
    "or JSON `{ frames: [{ image, timestamp? }] }`. Options go in the query string (or, for JSON, in the body). " +
    "All faces of all frames are classified in as few batched model runs as possible.",
  request: {
    query: VideoOptions,
    body: {
      required: false,
      content: {
        "multipart/form-data": { schema: VideoFormRequest },
        "application/json": { schema: VideoJsonRequest },
      },
    },
  },
  responses: {
    200: {
      description: "Per-frame faces and per-track summaries",
      content: { "application/json": { schema: VideoResponse } },
    },
    ...errorResponses(...INFERENCE_ERRORS),
  },
});
