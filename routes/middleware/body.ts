/**
 * Reading a request body before any handler or validator sees it: counted against MAX_BODY_BYTES on the stream
 * (413), bounded in time by BODY_TIMEOUT_MS (408 `request_timeout`, connection closed), and turned into a 400
 * `invalid_request` naming how many bytes arrived when the client closes or aborts mid-upload. Handlers then
 * parse multipart, JSON or raw bytes from memory, so no body read can fail later as an unhandled 500.
 */
import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../../src/errors.ts";

/** The size and time limits of a body. */
export interface BodyReaderOptions {
  /** Largest body in bytes (declared by Content-Length or counted on the stream). */
  maxBytes: number;
  /** Time allowed for the whole body to arrive, from the start of reading. */
  timeoutMs: number;
}

/** The outcome of draining a body stream. */
export type ReadOutcome =
  | { ok: true; bytes: Uint8Array<ArrayBuffer> }
  | { ok: false; reason: "timeout" | "closed" | "too_large"; received: number; error?: unknown };

/**
 * Drains `stream` into one buffer within `timeoutMs`, stopping at `maxBytes` + 1. Never throws: a stream error
 * (client abort, half-close before Content-Length is reached, server shutdown) is reported as `closed`.
 */
export async function readStream(
  stream: ReadableStream<Uint8Array>,
  limits: BodyReaderOptions,
): Promise<ReadOutcome> {
  const chunks: Uint8Array[] = [];
  const r = await drain(stream, limits, (c) => void chunks.push(c));
  if (!r.ok) return r;
  const bytes = new Uint8Array(r.received);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { ok: true, bytes };
}

/**
 * Like `readStream`, but each chunk goes to `write` as it arrives (a file, for video uploads) instead of
 * memory; the outcome carries the byte count. A failing `write` is reported as `closed`.
 */
export async function drain(
  stream: ReadableStream<Uint8Array>,
  { maxBytes, timeoutMs }: BodyReaderOptions,
  write: (chunk: Uint8Array) => Promise<void> | void,
): Promise<{ ok: true; received: number } | Exclude<ReadOutcome, { ok: true }>> {
  const reader = stream.getReader();
  let received = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (timedOut) return { ok: false, reason: "timeout", received };
      if (done) break;
      received += value.length;
      if (received > maxBytes) {
        reader.cancel().catch(() => {});
        return { ok: false, reason: "too_large", received };
      }
      await write(value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    return { ok: false, reason: timedOut ? "timeout" : "closed", received, error };
  } finally {
    clearTimeout(timer);
  }
  return { ok: true, received };
}

/** The problem for a body that did not arrive whole (`declared`: its Content-Length, if any). */
export function bodyError(
  r: Exclude<ReadOutcome, { ok: true }>,
  { maxBytes, timeoutMs, declared }: BodyReaderOptions & { declared?: number },
): ApiError {
  if (r.reason === "too_large") return tooLarge(maxBytes);
  const of = declared !== undefined ? ` of ${declared}` : "";
  if (r.reason === "timeout") {
    return new ApiError(
      "request_timeout",
      `Cannot read request body: only ${r.received}${of} bytes arrived within ${timeoutMs} ms`,
    );
  }
  return new ApiError(
    "invalid_request",
    `Cannot read request body: the connection closed after ${r.received}${of} bytes`,
    { issues: [{ path: "(body)", message: "the body ended early" }], cause: r.error },
  );
}

/** The Content-Length of a request when it is a plain number. */
export function declaredLength(req: Request): number | undefined {
  const text = req.headers.get("content-length");
  return text !== null && /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * Middleware that buffers the request body (see the module note) and replaces `c.req.raw` with an in-memory
 * copy. Requests without a body pass through untouched.
 */
export function bodyReader({ maxBytes, timeoutMs }: BodyReaderOptions): MiddlewareHandler {
  return async (c: Context, next) => {
    const req = c.req.raw;
    if (!req.body) return await next();
    const declared = declaredLength(req);
    if (declared !== undefined && declared > maxBytes) throw tooLarge(maxBytes);
    const r = await readStream(req.body, { maxBytes, timeoutMs });
    if (!r.ok) throw bodyError(r, { maxBytes, timeoutMs, declared });
    if (declared !== undefined && r.bytes.length < declared) {
      throw new ApiError(
        "invalid_request",
        `Cannot read request body: the connection closed after ${r.bytes.length} of ${declared} bytes`,
        { issues: [{ path: "(body)", message: "the body ended early" }] },
      );
    }
    // Without Content-Length (chunked) the copy carries the counted length, so later readers see one body.
    const headers = new Headers(req.headers);
    headers.delete("transfer-encoding");
    headers.set("content-length", String(r.bytes.length));
    // The transport's signal travels on: it tells the handlers when the client has gone (cancellation).
    c.req.raw = new Request(req.url, { method: req.method, headers, body: r.bytes, signal: req.signal });
    await next();
  };
}

/** 413 for a body over `maxBytes`. */
export function tooLarge(maxBytes: number): ApiError {
  return new ApiError(
    "payload_too_large",
    `Cannot read request: body is over the limit of ${maxBytes} bytes`,
  );
}
