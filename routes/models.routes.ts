/** Route definitions for the model catalogue (`/v1/models`). */
import { createRoute } from "@hono/zod-openapi";
import { ModelIdParam, ModelInfo, ModelList, Problem } from "../openapi/schemas.ts";
import { authResponses } from "./common.ts";

const problem = { content: { "application/problem+json": { schema: Problem } } };

export const listModels = createRoute({
  method: "get",
  path: "/v1/models",
  tags: ["models"],
  summary: "List the served expression models (manifests, licence and intended-use notes)",
  responses: {
    200: { description: "The models", content: { "application/json": { schema: ModelList } } },
    ...authResponses,
    503: { description: "Not ready", ...problem },
  },
});

export const getModel = createRoute({
  method: "get",
  path: "/v1/models/{id}",
  tags: ["models"],
  summary: "One model's manifest",
  request: { params: ModelIdParam },
  responses: {
    200: { description: "The model", content: { "application/json": { schema: ModelInfo } } },
    ...authResponses,
    404: { description: "Unknown model", ...problem },
    503: { description: "Not ready", ...problem },
  },
});
