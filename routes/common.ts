/** Response entries shared by several routes (problem+json errors). */
import { Problem } from "../openapi/schemas.ts";

const problem = { content: { "application/problem+json": { schema: Problem } } };

/** 401/429 for routes behind the API key and rate limit. */
export const authResponses = {
  401: { description: "Missing or invalid API key (`unauthorized`)", ...problem },
  429: { description: "Rate limit exceeded (`rate_limited`), with Retry-After", ...problem },
} as const;

/** The errors every inference route can answer. */
export const inferenceErrors = {
  400: { description: "Invalid parameters (`invalid_request`), issues listed", ...problem },
  ...authResponses,
  413: { description: "Body, frame count or pixel limit exceeded", ...problem },
  415: { description: "Unsupported media type", ...problem },
  422: { description: "Undecodable image", ...problem },
  503: { description: "Not ready or overloaded (`not_ready`, `overloaded`), with Retry-After", ...problem },
  504: { description: "Request deadline exceeded (`deadline_exceeded`)", ...problem },
} as const;
