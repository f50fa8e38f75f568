/** Handler for `POST /v1/expressions`, and the expressions resource's endpoint list. */
import type { RouteHandler, z } from "@hono/zod-openapi";
import type { ExpressionFormRequest, ExpressionJsonRequest } from "../openapi/schemas.ts";
import { ApiError } from "../src/errors.ts";
import { toFaceResult } from "../src/expression.ts";
import { classifyExpressions } from "./expressions.routes.ts";
import type { AppEnv } from "./context.ts";
import { endpoint } from "./endpoint.ts";
import {
  ACCEPTED,
  fileBytes,
  fromBase64,
  isJson,
  rawBody,
  unsupportedType,
  withBodyOptions,
} from "./input.ts";
import { analyzeRequest, beginInference, modelRef, roundTimings } from "./results.ts";

/** Reads the image (multipart, raw or JSON) and options, analyses it, answers every face. */
export const classifyExpressionsHandler: RouteHandler<typeof classifyExpressions, AppEnv> = async (c) => {
  const { deadline, type } = beginInference(c, c.get("deps").config.requestTimeoutMs);
  let bytes: Uint8Array;
  let options = c.req.valid("query");
  if (type === "multipart/form-data") {
    // One route, several body types: `valid` types each target as their union; the media type picks one.
    bytes = await fileBytes((c.req.valid("form") as z.output<typeof ExpressionFormRequest>).image);
  } else if (isJson(type)) {
    const { image, ...fromBody } = c.req.valid("json") as z.output<typeof ExpressionJsonRequest>;
    bytes = fromBase64(image, "image");
    options = withBodyOptions(options, fromBody);
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
  const { model, result } = await analyzeRequest(c, [bytes], options, { deadline });
  const image = result.images[0];
  return c.json({
    model: modelRef(model),
    image: { width: image.width, height: image.height },
    faces: image.faces.map(toFaceResult),
    timings: roundTimings(result.timings),
  }, 200);
};

/** The expressions resource. */
export const EXPRESSION_ENDPOINTS = [
  endpoint(classifyExpressions, classifyExpressionsHandler, { accepted: ACCEPTED.expressions }),
];
