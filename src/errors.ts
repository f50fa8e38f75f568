/**
 * The error classes of the service and the one table that maps them to RFC 9457 `application/problem+json`
 * responses. Every failure a client can cause is one of these, with a stable `code`; anything else is a bug and
 * answers 500 `internal_error` without leaking details.
 */

/** Stable error codes (part of the public API; never rename). */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  too_many_pixels: 413,
  too_many_frames: 413,
  unsupported_media_type: 415,
  undecodable_image: 422,
  rate_limited: 429,
  internal_error: 500,
  not_ready: 503,
  overloaded: 503,
  deadline_exceeded: 504,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

const TITLES: Record<ErrorCode, string> = {
  invalid_request: "Invalid request",
  unauthorized: "Unauthorized",
  not_found: "Not found",
  method_not_allowed: "Method not allowed",
  request_timeout: "Request timeout",
  payload_too_large: "Payload too large",
  too_many_pixels: "Image has too many pixels",
  too_many_frames: "Too many frames",
  unsupported_media_type: "Unsupported media type",
  undecodable_image: "Undecodable image",
  rate_limited: "Rate limit exceeded",
  internal_error: "Internal error",
  not_ready: "Service not ready",
  overloaded: "Service overloaded",
  deadline_exceeded: "Deadline exceeded",
};

/** One validation problem, as listed in a 400 response. */
export interface Issue {
  path: string;
  message: string;
}

/**
 * A failure with a stable code, an HTTP status derived from it, and a message that names the problem
 * (action, state, value). `retryAfterSeconds` becomes a `Retry-After` header (429/503).
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly issues?: Issue[];
  readonly retryAfterSeconds?: number;

  constructor(
    code: ErrorCode,
    message: string,
    { issues, retryAfterSeconds, cause }: { issues?: Issue[]; retryAfterSeconds?: number; cause?: unknown } =
      {},
  ) {
    super(message, { cause });
    this.name = "ApiError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.issues = issues;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The problem+json body (RFC 9457) for an error; unknown errors become a generic 500. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  requestId?: string;
  issues?: Issue[];
}

/** Maps any thrown value to a problem body; only `ApiError` details reach the client. */
export function toProblem(
  err: unknown,
  { instance, requestId }: { instance?: string; requestId?: string } = {},
): {
  problem: Problem;
  headers: Record<string, string>;
} {
  const e = err instanceof ApiError
    ? err
    : new ApiError("internal_error", "The server failed to handle the request");
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (e.retryAfterSeconds !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(e.retryAfterSeconds)));
  }
  return {
    problem: {
      type: `https://scan-fer.dev/problems/${e.code.replaceAll("_", "-")}`,
      title: TITLES[e.code],
      status: e.status,
      code: e.code,
      detail: e.message,
      instance,
      requestId,
      issues: e.issues,
    },
    headers,
  };
}
