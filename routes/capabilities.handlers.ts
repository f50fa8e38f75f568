/**
 * Handler of `GET /v1/capabilities`: the video job facts a client needs before it uploads (whether ffmpeg is
 * there, the accepted containers and codecs, result formats, webhooks, limits), read from the job service's
 * tables and the configuration rather than restated.
 */
import type { RouteHandler } from "@hono/zod-openapi";
import { VIDEO_CODECS, VIDEO_CONTAINERS } from "../src/jobs/jobs.ts";
import { DETECTORS } from "../src/faces/detectors.ts";
import { RESULT_FORMATS } from "../openapi/schemas.ts";
import type { AppEnv } from "./context.ts";
import { endpoint } from "./endpoint.ts";
import { getCapabilities } from "./capabilities.routes.ts";

/** `GET /v1/capabilities`. */
export const getCapabilitiesHandler: RouteHandler<typeof getCapabilities, AppEnv> = async (c) => {
  const { config, jobs } = c.get("deps");
  const ffmpeg = jobs ? await jobs.checkFfmpeg() : false;
  return c.json({
    detectors: Object.keys(DETECTORS),
    frames: { maxFrames: config.maxFrames, maxBodyBytes: config.maxBodyBytes, maxPixels: config.maxPixels },
    videoJobs: {
      ffmpeg,
      ...(ffmpeg ? {} : { install: "apt-get install -y ffmpeg (or set FFMPEG_PATH)" }),
      containers: [...VIDEO_CONTAINERS],
      codecs: [...VIDEO_CODECS],
      resultFormats: [...RESULT_FORMATS],
      webhooks: config.webhookSecret !== "",
      limits: {
        maxVideoBytes: config.maxVideoBytes,
        maxVideoSeconds: config.maxVideoSeconds,
        maxVideoSide: config.maxVideoSide,
        maxPixels: config.maxPixels,
        concurrency: config.jobConcurrency,
        ttlHours: config.jobTtlHours,
      },
    },
  }, 200);
};

/** The capabilities resource. */
export const CAPABILITY_ENDPOINTS = [endpoint(getCapabilities, getCapabilitiesHandler)];
