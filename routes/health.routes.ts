/** Route definitions for liveness/readiness and the Open Inference Protocol (v2) metadata aliases. */
import { createRoute, z } from "@hono/zod-openapi";
import { Health, ModelIdParam, V2ModelMetadata, V2ModelReady, V2ServerMetadata } from "../openapi/schemas.ts";
import { errorResponses } from "./responses.ts";

/** `GET /healthz`. */
export const healthz = createRoute({
  operationId: "healthz",
  method: "get",
  path: "/healthz",
  tags: ["health"],
  summary: "Liveness: the process is up",
  responses: { 200: { description: "Alive", content: { "application/json": { schema: Health } } } },
});

/** `GET /readyz`. */
export const readyz = createRoute({
  operationId: "readyz",
  method: "get",
  path: "/readyz",
  tags: ["health"],
  summary: "Readiness: models loaded and warmed up",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: Health } } },
    503: { description: "Loading or draining", content: { "application/json": { schema: Health } } },
  },
});

/** `GET /v2/health/live`. */
export const v2Live = createRoute({
  operationId: "v2Live",
  method: "get",
  path: "/v2/health/live",
  tags: ["v2"],
  summary: "Open Inference Protocol liveness",
  responses: {
    200: {
      description: "Alive",
      content: { "application/json": { schema: z.object({ live: z.boolean() }) } },
    },
  },
});

/** `GET /v2/health/ready`. */
export const v2Ready = createRoute({
  operationId: "v2Ready",
  method: "get",
  path: "/v2/health/ready",
  tags: ["v2"],
  summary: "Open Inference Protocol readiness",
  responses: {
    200: {
      description: "Ready",
      content: { "application/json": { schema: z.object({ ready: z.boolean() }) } },
    },
    503: {
      description: "Not ready",
      content: { "application/json": { schema: z.object({ ready: z.boolean() }) } },
    },
  },
});

/** `GET /v2`. */
export const v2Server = createRoute({
  operationId: "v2Server",
  method: "get",
  path: "/v2",
  tags: ["v2"],
  summary: "Open Inference Protocol server metadata",
  responses: {
    200: { description: "Server metadata", content: { "application/json": { schema: V2ServerMetadata } } },
    ...errorResponses("unauthorized"),
  },
});

/** `GET /v2/models/{id}`. */
export const v2Model = createRoute({
  operationId: "v2Model",
  method: "get",
  path: "/v2/models/{id}",
  tags: ["v2"],
  summary: "Open Inference Protocol model metadata",
  request: { params: ModelIdParam },
  responses: {
    200: { description: "Model metadata", content: { "application/json": { schema: V2ModelMetadata } } },
    ...errorResponses("unauthorized", "not_found", "not_ready"),
  },
});

/** `GET /v2/models/{id}/ready`. */
export const v2ModelReady = createRoute({
  operationId: "v2ModelReady",
  method: "get",
  path: "/v2/models/{id}/ready",
  tags: ["v2"],
  summary: "Open Inference Protocol model readiness",
  request: { params: ModelIdParam },
  responses: {
    200: { description: "Model ready", content: { "application/json": { schema: V2ModelReady } } },
    ...errorResponses("unauthorized", "not_found"),
    503: { description: "Not ready", content: { "application/json": { schema: V2ModelReady } } },
  },
});
