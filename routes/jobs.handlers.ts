/**
 * Handlers of the video upload and the job resource, and their list. The upload is read (multipart `video` or a
 * raw `video/*` body), handed to the job service (src/jobs/jobs.ts) and answered 202; the job views add progress,
 * rate and ETA; results are assembled from the stored frames and written in the chosen format, NDJSON streamed
 * while the job runs.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Context } from "hono";
import type { RouteHandler, z } from "@hono/zod-openapi";
import type { VideoUploadForm } from "../openapi/schemas.ts";
import { ApiError } from "../src/errors.ts";
import type { Jobs, Submission } from "../src/jobs/jobs.ts";
import { isFinal } from "../src/jobs/runner.ts";
import { checkSmoothing } from "../src/video.ts";
import type { Job, JobBackend } from "../src/jobs/store.ts";
import { ABAW_HEADER, abawLines, CSV_HEADER, csvRows } from "../src/jobs/formats.ts";
import type { AnalyzedImage } from "../src/classify.ts";
import { type AppEnv, readyRegistry } from "./context.ts";
import { endpoint } from "./endpoint.ts";
import { fileBytes, mediaType, unsupportedType } from "./input.ts";
import { modelRef } from "./results.ts";
import { cancelJob, getJob, jobResults, listJobs, submitVideo } from "./jobs.routes.ts";

const ACCEPTED_VIDEO = "multipart/form-data (field `video`) or a raw video/* body";

/** The job service, or 503 while it is not set up (models loading). */
function readyJobs(c: Context<AppEnv>): Jobs<JobBackend> {
  const { jobs } = c.get("deps");
  if (!jobs) throw new ApiError("not_ready", "Cannot serve request: the job store is not open");
  return jobs;
}

/** Who owns a job: with API keys, a hash of the caller's key (keys are not stored); without, nobody in particular. */
function ownerOf(c: Context<AppEnv>): string {
  const client = c.get("client") ?? "";
  return client.startsWith("key:")
    ? `key:${createHash("sha256").update(client).digest("hex").slice(0, 16)}`
    : "";
}

/** A job the caller may see, else 404 (another key's job is not found, not forbidden). */
async function visibleJob(c: Context<AppEnv>, jobs: Jobs<JobBackend>, id: string): Promise<Job> {
  const job = await jobs.store.get(id);
  if (!job || (ownerOf(c) && job.owner !== ownerOf(c))) {
    throw new ApiError("not_found", `Cannot find job: no job "${id}"`);
  }
  return job;
}

const iso = (ms?: number) => ms === undefined ? undefined : new Date(ms).toISOString();

/** The API view of a job. */
export function jobView(job: Job) {
  const running = job.status === "running" && job.rate;
  return {
    id: job.id,
    status: job.status,
    createdAt: iso(job.createdAt)!,
    ...(job.startedAt ? { startedAt: iso(job.startedAt) } : {}),
    ...(job.finishedAt ? { finishedAt: iso(job.finishedAt) } : {}),
    progress: {
      done: job.done,
      total: job.total,
      ...(job.rate ? { fps: job.rate } : {}),
      ...(running ? { etaSeconds: Math.round(Math.max(0, job.total - job.done) / job.rate! * 10) / 10 } : {}),
    },
    model: job.model,
    video: job.video,
    frameSize: job.frameSize,
    options: job.options as unknown as Record<string, unknown>,
    ...(job.error ? { error: job.error } : {}),
    ...(job.webhook ? { webhook: job.webhook } : {}),
    links: { self: `/v1/jobs/${job.id}`, results: `/v1/jobs/${job.id}/results` },
  };
}

/** `POST /v1/videos`: reads the upload, submits it, 202 with Location. */
export const submitVideoHandler: RouteHandler<typeof submitVideo, AppEnv> = async (c) => {
  const registry = readyRegistry(c.get("deps"));
  const jobs = readyJobs(c);
  const type = mediaType(c.req.header("content-type"));
  let video: Submission["video"];
  if (type === "multipart/form-data") {
    video = { bytes: await fileBytes((c.req.valid("form") as z.output<typeof VideoUploadForm>).video) };
  } else if (type.startsWith("video/")) {
    // Written to a file by the upload middleware as it arrived; no file means no body. Empty either way is the
    // job service's 422, the same answer as an empty multipart file.
    const file = c.get("upload");
    video = file ? { file } : { bytes: new Uint8Array(0) };
  } else if (type === "") {
    throw new ApiError(
      "invalid_request",
      "Cannot read request: no body (send multipart `video` or a video/* body)",
      {
        issues: [{ path: "(body)", message: "a video is required" }],
      },
    );
  } else {
    throw unsupportedType(type, ACCEPTED_VIDEO);
  }
  const { fps, start, end, webhook, ...options } = c.req.valid("query");
  checkSmoothing(options);
  const model = registry.resolve(options.model);
  const job = await jobs.submit({
    video,
    options: {
      ...options,
      ...(fps !== undefined ? { fps } : {}),
      start,
      ...(end !== undefined ? { end } : {}),
    },
    owner: ownerOf(c),
    idempotencyKey: c.req.header("idempotency-key")?.trim() || undefined,
    ...(webhook !== undefined ? { webhook } : {}),
  }, modelRef(model));
  return c.json(jobView(job), 202, { location: `/v1/jobs/${job.id}` });
};

/** `GET /v1/jobs/{id}`. */
export const getJobHandler: RouteHandler<typeof getJob, AppEnv> = async (c) => {
  const jobs = readyJobs(c);
  return c.json(jobView(await visibleJob(c, jobs, c.req.valid("param").id)), 200);
};

/** `DELETE /v1/jobs/{id}`: cancels and answers the job once its ffmpeg is gone. */
export const cancelJobHandler: RouteHandler<typeof cancelJob, AppEnv> = async (c) => {
  const jobs = readyJobs(c);
  const job = await visibleJob(c, jobs, c.req.valid("param").id);
  await jobs.runner.cancel(job.id);
  return c.json(jobView((await jobs.store.get(job.id))!), 200);
};

/** `GET /v1/jobs`. */
export const listJobsHandler: RouteHandler<typeof listJobs, AppEnv> = async (c) => {
  const jobs = readyJobs(c);
  const { limit, offset } = c.req.valid("query");
  const owner = ownerOf(c);
  const page = await jobs.store.list({ ...(owner ? { owner } : {}), limit, offset });
  return c.json({
    jobs: page.map(jobView),
    limit,
    offset,
    ...(page.length === limit ? { next: `/v1/jobs?limit=${limit}&offset=${offset + limit}` } : {}),
  }, 200);
};

/** The results format: `format`, else from `Accept`, else JSON. */
function formatOf(format: string | undefined, accept: string): "json" | "ndjson" | "csv" | "abaw" {
  if (format) return format as "json" | "ndjson" | "csv" | "abaw";
  if (accept.includes("application/x-ndjson")) return "ndjson";
  if (accept.includes("text/csv")) return "csv";
  return "json";
}

/** NDJSON lines of a job's frames, from the stored ones on, until the job ends (or the client leaves). */
function ndjsonStream(jobs: Jobs<JobBackend>, id: string): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const images: AnalyzedImage[] = [];
  let sent = 0;
  let closed = false;
  return new ReadableStream({
    async pull(controller) {
      while (!closed) {
        const job = (await jobs.store.get(id))!;
        const final = isFinal(job.status);
        images.push(...await jobs.store.frames(id, images.length));
        if (images.length > sent) {
          // Tracking and smoothing are causal: the frames of a prefix are final once assembled.
          const { frames } = jobs.assemble(job, images);
          const lines = frames.slice(sent).map((f) => JSON.stringify(f) + "\n").join("");
          sent = frames.length;
          controller.enqueue(encoder.encode(lines));
          return;
        }
        if (final) {
          controller.close();
          return;
        }
        await jobs.runner.wait(id);
      }
    },
    cancel() {
      closed = true;
    },
  });
}

/** `GET /v1/jobs/{id}/results`. */
export const jobResultsHandler: RouteHandler<typeof jobResults, AppEnv> = async (c) => {
  const jobs = readyJobs(c);
  const job = await visibleJob(c, jobs, c.req.valid("param").id);
  const { format, track } = c.req.valid("query");
  const chosen = formatOf(format, c.req.header("accept") ?? "");
  if (chosen === "ndjson") {
    return new Response(ndjsonStream(jobs, job.id), {
      status: 200,
      headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" },
    }) as never;
  }
  const { frames, tracks } = await jobs.results(job);
  if (chosen === "csv") {
    return c.body([CSV_HEADER, ...csvRows(frames)].join("\n") + "\n", 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${job.id}.csv"`,
    }) as never;
  }
  if (chosen === "abaw") {
    return c.body([ABAW_HEADER, ...abawLines(frames, track)].join("\n") + "\n", 200, {
      "content-type": "text/plain; charset=utf-8",
      "content-disposition": `attachment; filename="${job.id}.txt"`,
    }) as never;
  }
  return c.json({ job: job.id, model: job.model, frames, tracks }, 200);
};

/** The jobs resource (the video upload creates a job). */
export const JOB_ENDPOINTS = [
  endpoint(submitVideo, submitVideoHandler, {
    accepted: ACCEPTED_VIDEO,
    maxBodyBytes: (c) => c.maxVideoBytes,
    spool: (c) => join(c.dataDir, "uploads"),
  }),
  endpoint(listJobs, listJobsHandler),
  endpoint(getJob, getJobHandler),
  endpoint(cancelJob, cancelJobHandler),
  endpoint(jobResults, jobResultsHandler),
];
