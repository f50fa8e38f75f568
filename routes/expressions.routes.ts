/** Route definition for `POST /v1/expressions`: one image in any of three forms, every face's expression out. */
import { createRoute } from "@hono/zod-openapi";
import {
  BinaryImage,
  ExpressionFormRequest,
  ExpressionJsonRequest,
  ExpressionOptions,
  ExpressionResponse,
} from "../openapi/schemas.ts";
import { errorResponses, INFERENCE_ERRORS } from "./responses.ts";

/** `POST /v1/expressions`. */
export const classifyExpressions = createRoute({
  operationId: "classifyExpressions",
  method: "post",
  path: "/v1/expressions",
  tags: ["expressions"],
  summary: "Estimate the facial expression of every face in one image",
  description:
    'Send the image as multipart field `image`, as a raw `image/*` body, or as JSON `{ "image": "<base64>" }`. ' +
    "Options go in the query string (or, for JSON, in the body). No face gives 200 with `faces: []`.",
  request: {
    query: ExpressionOptions,
    // Not `required: true`: zod-openapi would then validate every media type's schema against every request.
    // The handler answers 400 for a missing body; the generated document marks the body required.
    body: {
      required: false,
      content: {
        "multipart/form-data": { schema: ExpressionFormRequest },
        "application/json": { schema: ExpressionJsonRequest },
        "image/*": { schema: BinaryImage },
        "application/octet-stream": { schema: BinaryImage },
      },
    },
  },
  responses: {
    200: {
      description: "Faces and their expressions",
      content: { "application/json": { schema: ExpressionResponse } },
    },
    ...errorResponses(...INFERENCE_ERRORS),
  },
});
