/** Route definition for `POST /v2/models/{id}/infer`: the Open Inference Protocol (KServe V2) tensor call. */
import { createRoute } from "@hono/zod-openapi";
import { ModelIdParam, NoQuery, V2InferRequest, V2InferResponse } from "../openapi/schemas.ts";
import { AUTH_ERRORS, errorResponses } from "./responses.ts";

/** `POST /v2/models/{id}/infer`. */
export const v2Infer = createRoute({
  operationId: "v2Infer",
  method: "post",
  path: "/v2/models/{id}/infer",
  tags: ["v2"],
  summary: "Open Inference Protocol inference on the model's own input tensor",
  description:
    "KServe V2 JSON tensors: one `FP32` input named and shaped as `GET /v2/models/{id}` says (`[N, 3, 224, 224]` " +
    "for SCAN+CCI, `[N, 112, 112, 3]` for the face-api baseline; -1 is the batch, at most MAX_BATCH), " +
    "preprocessed as the manifest's `input` says (scale, mean, std, layout, channel order), `data` flat in " +
    "row-major order. Answers the manifest's outputs (or the requested `outputs`) as `FP32` tensors, unrounded. For " +
    "images, use `POST /v1/expressions`.",
  request: {
    params: ModelIdParam,
    query: NoQuery,
    body: { required: true, content: { "application/json": { schema: V2InferRequest } } },
  },
  responses: {
    200: { description: "The output tensors", content: { "application/json": { schema: V2InferResponse } } },
    ...errorResponses(
      "invalid_request",
      ...AUTH_ERRORS,
      "not_found",
      "payload_too_large",
      "unsupported_media_type",
      "not_ready",
      "deadline_exceeded",
    ),
  },
});
