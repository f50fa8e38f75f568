/** Route definitions for the model catalogue (`/v1/models`). */
import { createRoute } from "@hono/zod-openapi";
import { ModelIdParam, ModelInfo, ModelList } from "../openapi/schemas.ts";
import { AUTH_ERRORS, errorResponses } from "./responses.ts";

/** `GET /v1/models`. */
export const listModels = createRoute({
  operationId: "listModels",
  method: "get",
  path: "/v1/models",
  tags: ["models"],
  summary: "List the served expression models (manifests, licence and intended-use notes)",
  responses: {
    200: { description: "The models", content: { "application/json": { schema: ModelList } } },
    ...errorResponses(...AUTH_ERRORS, "not_ready"),
  },
});

/** `GET /v1/models/{id}`. */
export const getModel = createRoute({
  operationId: "getModel",
  method: "get",
  path: "/v1/models/{id}",
  tags: ["models"],
  summary: "One model's manifest",
  request: { params: ModelIdParam },
  responses: {
    200: { description: "The model", content: { "application/json": { schema: ModelInfo } } },
    ...errorResponses(...AUTH_ERRORS, "not_found", "not_ready"),
  },
});
