/** Handlers for liveness/readiness probes and the Open Inference Protocol (v2) metadata aliases, and their list. */
import type { RouteHandler } from "@hono/zod-openapi";
import { healthz, readyz, v2Live, v2Model, v2ModelReady, v2Ready, v2Server } from "./health.routes.ts";
import { endpoint } from "./endpoint.ts";
import { type AppEnv, readyRegistry, type ServerState } from "./context.ts";
import { findModel } from "./models.handlers.ts";

function isReady(state: ServerState): boolean {
  return !!state.registry && !state.draining && [...state.registry.models.values()].every((m) => m.ready);
}

function status(state: ServerState): "ok" | "loading" | "draining" {
  return state.draining ? "draining" : state.registry ? "ok" : "loading";
}

/** Alive: ok, loading or draining. */
export const healthzHandler: RouteHandler<typeof healthz, AppEnv> = (c) =>
  c.json({ status: status(c.get("deps").state) }, 200);

/** 200 when every model is loaded and the server is not draining, else 503. */
export const readyzHandler: RouteHandler<typeof readyz, AppEnv> = (c) => {
  const { state, jobs } = c.get("deps");
  const models = state.registry
    ? [...state.registry.models.values()].map((m) => ({ id: m.id, ready: m.ready }))
    : [];
  // Reported, not required: photos and frame batches are served without ffmpeg.
  const videoJobs = jobs?.ffmpeg !== undefined ? { videoJobs: { ffmpeg: jobs.ffmpeg } } : {};
  return isReady(state)
    ? c.json({ status: "ok" as const, models, ...videoJobs }, 200)
    : c.json({ status: status(state), models, ...videoJobs }, 503);
};

/** Always live while the process answers. */
export const v2LiveHandler: RouteHandler<typeof v2Live, AppEnv> = (c) => c.json({ live: true }, 200);

/** The readiness of `/readyz` in v2 form. */
export const v2ReadyHandler: RouteHandler<typeof v2Ready, AppEnv> = (c) =>
  isReady(c.get("deps").state) ? c.json({ ready: true }, 200) : c.json({ ready: false }, 503);

/** The server name and protocol version. */
export const v2ServerHandler: RouteHandler<typeof v2Server, AppEnv> = (c) =>
  c.json({ name: "scan-fer", version: "1", extensions: [] }, 200);

const V2_TYPES: Record<string, string> = {
  float32: "FP32",
  float16: "FP16",
  int64: "INT64",
  int32: "INT32",
  uint8: "UINT8",
};

/** A model's tensors in v2 form. */
export const v2ModelHandler: RouteHandler<typeof v2Model, AppEnv> = (c) => {
  const m = findModel(readyRegistry(c.get("deps")), c.req.valid("param").id);
  const dims = (shape: (number | string)[]) => shape.map((d) => (typeof d === "number" ? d : -1));
  return c.json({
    name: m.id,
    versions: [m.version],
    platform: "onnxruntime_onnx",
    inputs: [{
      name: m.manifest.input.name,
      datatype: V2_TYPES[m.manifest.input.dtype],
      shape: dims(m.manifest.input.shape),
    }],
    outputs: m.manifest.outputs.map((o) => ({
      name: o.name,
      datatype: V2_TYPES[o.dtype],
      shape: dims(o.shape),
    })),
  }, 200);
};

/** One model's readiness (503 while draining). */
export const v2ModelReadyHandler: RouteHandler<typeof v2ModelReady, AppEnv> = (c) => {
  const deps = c.get("deps");
  const m = findModel(readyRegistry(deps), c.req.valid("param").id);
  const ready = m.ready && !deps.state.draining;
  return ready ? c.json({ name: m.id, ready }, 200) : c.json({ name: m.id, ready }, 503);
};

/** The health and v2 metadata resource. */
export const HEALTH_ENDPOINTS = [
  endpoint(healthz, healthzHandler),
  endpoint(readyz, readyzHandler),
  endpoint(v2Live, v2LiveHandler),
  endpoint(v2Ready, v2ReadyHandler),
  endpoint(v2Server, v2ServerHandler),
  endpoint(v2Model, v2ModelHandler),
  endpoint(v2ModelReady, v2ModelReadyHandler),
];
