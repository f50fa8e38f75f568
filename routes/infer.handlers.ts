/** Handler for `POST /v2/models/{id}/infer`, and the V2 inference resource's endpoint list. */
import type { RouteHandler } from "@hono/zod-openapi";
import { withDeadline } from "../src/classify.ts";
import { v2Feeds, v2OutputNames, v2Outputs } from "../src/v2_infer.ts";
import { type AppEnv, readyRegistry } from "./context.ts";
import { endpoint } from "./endpoint.ts";
import { findModel } from "./models.handlers.ts";
import { v2Infer } from "./infer.routes.ts";

/** Checks the tensors against the manifest, runs the model's session once, answers its outputs. */
export const v2InferHandler: RouteHandler<typeof v2Infer, AppEnv> = async (c) => {
  const { config } = c.get("deps");
  const deadline = performance.now() + config.requestTimeoutMs;
  const model = findModel(readyRegistry(c.get("deps")), c.req.valid("param").id);
  const request = c.req.valid("json");
  const feeds = v2Feeds(model.manifest, request.inputs, { maxBatch: config.maxBatch });
  const names = v2OutputNames(model.manifest, request.outputs);
  // One direct session run: the tensor is already the model's batch, so the per-face micro-batcher is not used.
  const results = await withDeadline(model.session.run(feeds, names), deadline);
  return c.json({
    model_name: model.id,
    model_version: model.version,
    ...(request.id === undefined ? {} : { id: request.id }),
    outputs: v2Outputs(results, names),
  }, 200);
};

/** The V2 inference resource. */
export const INFER_ENDPOINTS = [
  endpoint(v2Infer, v2InferHandler, { accepted: "application/json", numberArrays: true }),
];
