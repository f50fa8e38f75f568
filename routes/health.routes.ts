/** Route definitions for liveness/readiness and the Open Inference Protocol (v2) metadata aliases. */
import { authResponses } from "./common.ts";
import { createRoute, z } from "@hono/zod-openapi";
import {
  Health,
  ModelIdParam,
  Problem,
  V2ModelMetadata,
  V2ModelReady,
  V2ServerMetadata,
} from "../openapi/schemas.ts";

const problem = { content: { "application/problem+json": { schema: Problem } } };

export const healthz = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["health"],
  summary: "Liveness: the process is up",
  responses: { 200: { description: "Alive", content: { "application/json": { schema: Health } } } },
});

export const readyz = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["health"],
  summary: "Readiness: models loaded and warmed up",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: Health } } },
    503: { description: "Loading or draining", content: { "application/json": { schema: Health } } },
  },
});

export const v2Live = createRoute({
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

export const v2Ready = createRoute({
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

export const v2Server = createRoute({
  method: "get",
  path: "/v2",
  tags: ["v2"],
  summary: "Open Inference Protocol server metadata",
  responses: {
    200: { description: "Server metadata", content: { "application/json": { schema: V2ServerMetadata } } },
    401: authResponses[401],
  },
});

export const v2Model = createRoute({
  method: "get",
  path: "/v2/models/{id}",
  tags: ["v2"],
  summary: "Open Inference Protocol model metadata",
  request: { params: ModelIdParam },
  responses: {
    200: { description: "Model metadata", content: { "application/json": { schema: V2ModelMetadata } } },
    401: authResponses[401],
    404: { description: "Unknown model", ...problem },
    503: { description: "Not ready", ...problem },
  },
});

export const v2ModelReady = createRoute({
  method: "get",
  path: "/v2/models/{id}/ready",
  tags: ["v2"],
  summary: "Open Inference Protocol model readiness",
  request: { params: ModelIdParam },
  responses: {
    200: { description: "Model ready", content: { "application/json": { schema: V2ModelReady } } },
    401: authResponses[401],
    404: { description: "Unknown model", ...problem },
    503: { description: "Not ready", content: { "application/json": { schema: V2ModelReady } } },
  },
});
