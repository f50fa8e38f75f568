/** Handler for `POST /v1/expressions`. */
import type { RouteHandler } from "@hono/zod-openapi";
import type { z } from "@hono/zod-openapi";
import { ApiError } from "../src/errors.ts";
import { type AnalyzedFace, analyzeImages, withDeadline } from "../src/classify.ts";
import { CANONICAL_LABELS } from "../model/spec.ts";
import { argmax } from "../src/smoothing.ts";
import type { classifyExpressions } from "./expressions.routes.ts";
import { type AppEnv, readyRegistry } from "./context.ts";
import {
  ACCEPTED,
  fileBytes,
  fromBase64,
  mediaType,
  parseOptions,
  rawBody,
  unsupportedType,
} from "./input.ts";
import { type Expression, ExpressionOptions, type FaceResult } from "../openapi/schemas.ts";

/** Canonical scores -> the `Expression` object (label, confidence, scores by name). */
export function toExpression(scores: readonly number[]): z.infer<typeof Expression> {
  const best = argmax(scores);
  return {
    label: CANONICAL_LABELS[best],
    confidence: scores[best],
    scores: Object.fromEntries(CANONICAL_LABELS.map((l, i) => [l, scores[i]])) as z.infer<
      typeof Expression
    >["scores"],
  };
}

/** An analysed face -> its response object. */
export function toFaceResult(f: AnalyzedFace): z.infer<typeof FaceResult> {
  const out: z.infer<typeof FaceResult> = {
    box: f.box,
    detectionScore: f.detectionScore,
    expression: toExpression(f.scores),
  };
  if (f.landmarks) out.landmarks = f.landmarks;
  if (f.attention) out.attention = f.attention;
  return out;
}

export const classifyExpressionsHandler: RouteHandler<typeof classifyExpressions, AppEnv> = async (c) => {
  const deps = c.get("deps");
  const deadline = performance.now() + deps.config.requestTimeoutMs;
  const registry = readyRegistry(deps);
  const type = mediaType(c.req.header("content-type"));
  let bytes: Uint8Array;
  let json: Record<string, unknown> = {};
  if (type === "multipart/form-data") {
    bytes = await fileBytes((c.req.valid("form") as { image: File }).image);
  } else if (type === "application/json" || type.endsWith("+json")) {
    json = c.req.valid("json") as Record<string, unknown>;
    bytes = fromBase64(String(json.image), "image");
    json = await c.req.json();
  } else if (type.startsWith("image/") || type === "application/octet-stream") {
    bytes = await rawBody(c.req);
  } else if (type === "") {
    throw new ApiError(
      "invalid_request",
      "Cannot read request: no body (send multipart, an image/* body or JSON)",
      {
        issues: [{ path: "(body)", message: "an image is required" }],
      },
    );
  } else {
    throw unsupportedType(type, ACCEPTED.expressions);
  }
  const options = parseOptions(ExpressionOptions, c.req.query(), json);
  const model = registry.resolve(options.model);
  const result = await withDeadline(
    analyzeImages([bytes], options, {
      model,
      faces: registry.faces,
      maxPixels: deps.config.maxPixels,
      deadline,
      tag: c.get("requestId"),
      maxBatch: deps.config.maxBatch,
      imageSlots: registry.imageSlots,
    }),
    deadline,
  );
  const image = result.images[0];
  return c.json({
    model: { id: model.id, version: model.version, trained: model.manifest.trained },
    image: { width: image.width, height: image.height },
    faces: image.faces.map(toFaceResult),
    timings: roundTimings(result.timings),
  }, 200);
};

/** Timings rounded to 0.01 ms for the response. */
export function roundTimings<T extends Record<string, number>>(t: T): T {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 100) / 100])) as T;
}
