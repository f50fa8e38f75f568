/**
 * Route definitions for the video upload (`POST /v1/videos`) and the job resource: get, cancel, list, results.
 */
import { createRoute } from "@hono/zod-openapi";
import {
  BinaryImage,
  Job,
  JobIdParam,
  JobList,
  JobListQuery,
  JobResults,
  ResultsQuery,
  VideoJobOptions,
  VideoUploadForm,
} from "../openapi/schemas.ts";
import { AUTH_ERRORS, errorResponses } from "./responses.ts";

const jobHeaders = {
  Location: { description: "The job: `/v1/jobs/{id}`", schema: { type: "string" as const } },
};

/** `POST /v1/videos`. */
export const submitVideo = createRoute({
  method: "post",
  path: "/v1/videos",
  operationId: "submitVideo",
  tags: ["jobs"],
  summary: "Upload a whole video as an asynchronous job",
  description:
    "A video file (mp4/mov, webm, mkv, avi; h264, hevc, vp8, vp9, av1, mpeg4, mjpeg) as multipart field " +
    "`video` or a raw `video/*` body, up to MAX_VIDEO_BYTES. Options (those of `/v1/videos/frames` plus `fps`, " +
    "`start`, `end`) go in the query string. The file is probed and checked before it is queued; the answer is " +
    "202 with `Location: /v1/jobs/{id}`. An `Idempotency-Key` header returns the same job for a repeated upload.",
  request: {
    query: VideoJobOptions,
    body: {
      required: false,
      content: {
        "multipart/form-data": { schema: VideoUploadForm },
        "video/*": { schema: BinaryImage },
      },
    },
  },
  responses: {
    202: {
      description: "The queued job (or the earlier job with the same Idempotency-Key)",
      headers: jobHeaders,
      content: { "application/json": { schema: Job } },
    },
    ...errorResponses(
      "invalid_request",
      "webhook_refused",
      ...AUTH_ERRORS,
      "payload_too_large",
      "too_many_pixels",
      "video_too_long",
      "unsupported_media_type",
      "undecodable_video",
      "not_ready",
      "ffmpeg_unavailable",
    ),
  },
});

/** `GET /v1/jobs/{id}`. */
export const getJob = createRoute({
  method: "get",
  path: "/v1/jobs/{id}",
  operationId: "getJob",
  tags: ["jobs"],
  summary: "A job's status, progress and error",
  request: { params: JobIdParam },
  responses: {
    200: { description: "The job", content: { "application/json": { schema: Job } } },
    ...errorResponses(...AUTH_ERRORS, "not_found", "not_ready"),
  },
});

/** `DELETE /v1/jobs/{id}`. */
export const cancelJob = createRoute({
  method: "delete",
  path: "/v1/jobs/{id}",
  operationId: "cancelJob",
  tags: ["jobs"],
  summary: "Cancel a job (its ffmpeg has exited when this answers); a finished job is left as it is",
  request: { params: JobIdParam },
  responses: {
    200: { description: "The job after the cancel", content: { "application/json": { schema: Job } } },
    ...errorResponses(...AUTH_ERRORS, "not_found", "not_ready"),
  },
});

/** `GET /v1/jobs`. */
export const listJobs = createRoute({
  method: "get",
  path: "/v1/jobs",
  operationId: "listJobs",
  tags: ["jobs"],
  summary: "Recent jobs, newest first (with API keys: the caller's own)",
  request: { query: JobListQuery },
  responses: {
    200: { description: "A page of jobs", content: { "application/json": { schema: JobList } } },
    ...errorResponses("invalid_request", ...AUTH_ERRORS, "not_ready"),
  },
});

/** `GET /v1/jobs/{id}/results`. */
export const jobResults = createRoute({
  method: "get",
  path: "/v1/jobs/{id}/results",
  operationId: "jobResults",
  tags: ["jobs"],
  summary:
    "A job's per-frame results as JSON, NDJSON (streamed while it runs), CSV or an ABAW expression file",
  description:
    "`json`: frames and tracks with the schemas of `/v1/videos/frames`. `ndjson`: one `FrameResult` per line, " +
    "streamed as frames are done, ending with the job. `csv`: frame, time, track, box, label, seven scores (a " +
    "frame without faces has one row with empty face fields). `abaw`: the Aff-Wild2 EXPR file: a header line, " +
    "then one label index per frame in ABAW order (`-1`: no face), for the largest face or `track`. All but " +
    "`ndjson` need a succeeded job (else 409 `job_not_finished`).",
  request: { params: JobIdParam, query: ResultsQuery },
  responses: {
    200: {
      description: "The results in the chosen format",
      content: {
        "application/json": { schema: JobResults },
        "application/x-ndjson": { schema: { type: "string" } },
        "text/csv": { schema: { type: "string" } },
        "text/plain": { schema: { type: "string" } },
      },
    },
    ...errorResponses("invalid_request", ...AUTH_ERRORS, "not_found", "job_not_finished", "not_ready"),
  },
});
