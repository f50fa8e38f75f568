/**
 * The documented error responses of a route, derived from the `ERRORS` table: a route lists the codes it can
 * answer and gets one problem+json response per status, described by those codes.
 */
import { type ErrorCode, ERRORS } from "../src/errors.ts";
import { Problem } from "../openapi/schemas.ts";

type Status<C extends ErrorCode> = (typeof ERRORS)[C]["status"];

/** One documented problem response. */
export interface ProblemResponse {
  description: string;
  content: { "application/problem+json": { schema: typeof Problem } };
}

/** The responses for `codes`, grouped by status: each described by its codes' descriptions and names. */
export function errorResponses<C extends ErrorCode>(...codes: C[]): { [S in Status<C>]: ProblemResponse } {
  const out: Record<number, ProblemResponse> = {};
  for (const status of new Set(codes.map((c) => ERRORS[c].status))) {
    const mine = codes.filter((c) => ERRORS[c].status === status);
    out[status] = {
      description: mine.map((c) => `${ERRORS[c].description} (\`${c}\`)`).join("; "),
      content: { "application/problem+json": { schema: Problem } },
    };
  }
  return out as { [S in Status<C>]: ProblemResponse };
}

/** The codes of a route behind the API key: a route documents `unauthorized` exactly when it is guarded. */
export const AUTH_ERRORS = ["unauthorized", "rate_limited"] as const satisfies readonly ErrorCode[];

/** The codes every inference route can answer. */
export const INFERENCE_ERRORS = [
  "invalid_request",
  ...AUTH_ERRORS,
  "payload_too_large",
  "too_many_pixels",
  "too_many_frames",
  "unsupported_media_type",
  "undecodable_image",
  "not_ready",
  "overloaded",
  "deadline_exceeded",
] as const satisfies readonly ErrorCode[];
