/** Handlers for `/v1/models` and the model metadata behind the v2 aliases, and the models endpoint list. */
import type { RouteHandler, z } from "@hono/zod-openapi";
import { ApiError } from "../src/errors.ts";
import type { LoadedModel, Registry } from "../src/registry.ts";
import { getModel, listModels } from "./models.routes.ts";
import { endpoint } from "./endpoint.ts";
import { type AppEnv, readyRegistry } from "./context.ts";
import type { ModelInfo } from "../openapi/schemas.ts";
import { CANONICAL_LABELS } from "../model/spec.ts";

/** A loaded model as its public description: the manifest plus runtime facts. */
export function describeModel(m: LoadedModel, registry: Registry): z.infer<typeof ModelInfo> {
  const f = m.manifest;
  return {
    id: f.id,
    version: m.version,
    task: f.task,
    architecture: { name: f.architecture.name, version: f.architecture.version },
    trained: f.trained,
    default: f.id === registry.defaultId,
    ready: m.ready,
    provider: m.provider,
    ...(m.fallbackReason ? { fallbackReason: m.fallbackReason } : {}),
    attention: m.hasAttention,
    labels: f.labels,
    outputLabels: f.labels,
    canonicalLabels: [...CANONICAL_LABELS],
    input: {
      name: f.input.name,
      shape: f.input.shape,
      size: f.input.size,
      channelOrder: f.input.channelOrder,
      layout: f.input.layout,
    },
    outputs: f.outputs,
    parameters: f.parameters,
    gflops: f.gflops,
    sha256: f.sha256,
    precision: f.precision,
    provenance: {
      source: f.provenance.source,
      tool: f.provenance.tool,
      ...(f.provenance.seed !== undefined ? { seed: f.provenance.seed } : {}),
    },
    metrics: f.metrics as Record<string, unknown>[],
    ...(f.calibration ? { calibration: f.calibration } : {}),
    license: f.license,
    intendedUse: f.intendedUse,
  };
}

/** The model with `id`, or 404 naming the known ids. */
export function findModel(registry: Registry, id: string): LoadedModel {
  const m = registry.models.get(id);
  if (!m) {
    throw new ApiError(
      "not_found",
      `Cannot find model "${id}": unknown id (available: ${[...registry.models.keys()].join(", ")})`,
    );
  }
  return m;
}

/** Every served model with the default and its warning. */
export const listModelsHandler: RouteHandler<typeof listModels, AppEnv> = (c) => {
  const registry = readyRegistry(c.get("deps"));
  return c.json({
    defaultModel: registry.defaultId,
    ...(registry.defaultWarning ? { warning: registry.defaultWarning } : {}),
    models: [...registry.models.values()].map((m) => describeModel(m, registry)),
  }, 200);
};

/** One model by id (404 naming the known ones). */
export const getModelHandler: RouteHandler<typeof getModel, AppEnv> = (c) => {
  const registry = readyRegistry(c.get("deps"));
  return c.json(describeModel(findModel(registry, c.req.valid("param").id), registry), 200);
};

/** The models resource. */
export const MODEL_ENDPOINTS = [endpoint(listModels, listModelsHandler), endpoint(getModel, getModelHandler)];
