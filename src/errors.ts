/**
 * The error table of the service and the RFC 9457 `application/problem+json` bodies built from it. Every failure
 * a client can cause is one `ERRORS` entry with a stable `code`; its status, title and description feed the
 * problem responses, each route's documented error responses and the `Problem.code` enum. Anything else is a
 * bug and answers 500 `internal_error` without leaking details.
 */
import { z } from "zod";

/** One error code: its HTTP status, the problem title, and what it means (documented per route). */
export interface ErrorEntry {
  status: number;
  title: string;
  description: string;
}

/** Stable error codes (part of the public API; never rename). The first code of a status is its generic one. */
export const ERRORS = {
  invalid_request: {
    status: 400,
    title: "Invalid request",
    description: "Invalid parameters, issues listed",
  },
  webhook_refused: {
    status: 400,
    title: "Webhook refused",
    description:
      "The webhook's host is or resolves to a loopback, private, link-local, CGNAT, unique-local or multicast address (WEBHOOK_ALLOWED_CIDRS permits ranges)",
  },
  unauthorized: { status: 401, title: "Unauthorized", description: "Missing or invalid API key" },
  not_found: { status: 404, title: "Not found", description: "Unknown model or job" },
  method_not_allowed: { status: 405, title: "Method not allowed", description: "Wrong method, with Allow" },
  request_timeout: { status: 408, title: "Request timeout", description: "The body did not arrive in time" },
  job_not_finished: {
    status: 409,
    title: "Job not finished",
    description: "The job has no complete results yet (stream `format=ndjson` meanwhile)",
  },
  payload_too_large: { status: 413, title: "Payload too large", description: "Body over the limit" },
  too_many_pixels: { status: 413, title: "Image has too many pixels", description: "Pixel limit exceeded" },
  too_many_frames: { status: 413, title: "Too many frames", description: "Frame count exceeded" },
  video_too_long: { status: 413, title: "Video too long", description: "Video duration over the limit" },
  unsupported_media_type: {
    status: 415,
    title: "Unsupported media type",
    description: "Unsupported media type",
  },
  undecodable_image: { status: 422, title: "Undecodable image", description: "Undecodable image" },
  undecodable_video: {
    status: 422,
    title: "Undecodable video",
    description: "ffprobe/ffmpeg cannot read the video or it has no video stream",
  },
  rate_limited: {
    status: 429,
    title: "Rate limit exceeded",
    description: "Rate limit exceeded, with Retry-After",
  },
  client_closed: {
    status: 499,
    title: "Client closed request",
    description: "The client left before the answer; its work was dropped (logged, never delivered)",
  },
  internal_error: { status: 500, title: "Internal error", description: "A bug on the server" },
  not_ready: { status: 503, title: "Service not ready", description: "Not ready, with Retry-After" },
  overloaded: { status: 503, title: "Service overloaded", description: "Overloaded, with Retry-After" },
  ffmpeg_unavailable: {
    status: 503,
    title: "Video decoding unavailable",
    description: "ffmpeg is not installed (Debian package `ffmpeg`, or set FFMPEG_PATH)",
  },
  deadline_exceeded: { status: 504, title: "Deadline exceeded", description: "Request deadline exceeded" },
} as const satisfies Record<string, ErrorEntry>;

/** A stable error code (an `ERRORS` key). */
export type ErrorCode = keyof typeof ERRORS;

/** Every error code, in table order (the `Problem.code` enum). */
export const ERROR_CODES = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];

/** The generic code for an HTTP status (the first table entry with it), for errors raised outside our code. */
export function codeForStatus(status: number): ErrorCode {
  const code = ERROR_CODES.find((c) => ERRORS[c].status === status);
  return code ?? (status >= 500 ? "internal_error" : "invalid_request");
}

/**
 * One validation problem, as listed in a 400 response. Its message starts with its path (`maxFaces: ...`), so
 * it reads on its own; `ApiError` adds the path where the message lacks it. `(body)` (the body as a whole) is
 * not repeated.
 */
export interface Issue {
  path: string;
  message: string;
}

/** The problem+json body (RFC 9457); the OpenAPI `Problem` schema is this one with its name attached. */
export const ProblemSchema = z.object({
  type: z.string().meta({ example: "https://scan-fer.dev/problems/undecodable-image" }),
  title: z.string(),
  status: z.number().int(),
  code: z.enum(ERROR_CODES).meta({
    description: "Stable machine-readable error code",
    example: "undecodable_image",
  }),
  detail: z.string(),
  instance: z.string().optional(),
  requestId: z.string().optional(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** A problem body as sent. */
export type Problem = z.infer<typeof ProblemSchema>;

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
    this.status = ERRORS[code].status;
    this.issues = issues?.map(withPath);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** `issue` with its message led by its path (see `Issue`). */
function withPath(issue: Issue): Issue {
  const { path, message } = issue;
  if (path === "(body)" || message.startsWith(`${path}: `)) return issue;
  return { path, message: `${path}: ${message}` };
}

/** Maps any thrown value to a problem body; only `ApiError` details reach the client. */
export function toProblem(
  err: unknown,
  { instance, requestId }: { instance?: string; requestId?: string } = {},
): {
  problem: Problem;
  headers: Record<string, string>;
} {
  const e = err instanceof ApiError ? err : new ApiError(
    "internal_error",
    "Cannot handle request: the server failed (logged under the request id)",
  );
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (e.retryAfterSeconds !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(e.retryAfterSeconds)));
  }
  return {
    problem: {
      type: `https://scan-fer.dev/problems/${e.code.replaceAll("_", "-")}`,
      title: ERRORS[e.code].title,
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
