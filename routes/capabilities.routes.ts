/** Route definition of what this server can do (`GET /v1/capabilities`). */
import { createRoute } from "@hono/zod-openapi";
import { Capabilities } from "../openapi/schemas.ts";
import { AUTH_ERRORS, errorResponses } from "./responses.ts";

/** `GET /v1/capabilities`. */
export const getCapabilities = createRoute({
  operationId: "getCapabilities",
  method: "get",
  path: "/v1/capabilities",
  tags: ["models"],
  summary: "What this server accepts: ffmpeg for video jobs, containers and codecs, result formats, limits",
  description:
    "Answers before the models are loaded. `videoJobs.ffmpeg` false means `POST /v1/videos` answers 503 " +
    "`ffmpeg_unavailable` until ffmpeg is installed (`install` says how); photos and frame batches are served " +
    "either way. `videoJobs.webhooks` false means WEBHOOK_SECRET is not set, so uploads with `webhook` are refused.",
  responses: {
    200: { description: "The capabilities", content: { "application/json": { schema: Capabilities } } },
    ...errorResponses(...AUTH_ERRORS),
  },
});
