/**
 * Reading a request body before any handler or validator sees it: counted against MAX_BODY_BYTES on the stream
 * (413), bounded in time by BODY_TIMEOUT_MS (408 `request_timeout`, connection closed), and turned into a 400
 * `invalid_request` naming how many bytes arrived when the client closes or aborts mid-upload. Handlers then
 * parse multipart, JSON or raw bytes from memory, so no body read can fail later as an unhandled 500.
 *
 * A JSON body has a lower limit (MAX_JSON_BODY_BYTES) and its structure is counted on the bytes before anything
 * parses it: `JSON.parse` and zod spend microseconds per key or value on the main thread (a 24 MB body of 2.4 M
 * keys held it for 17 s, `/healthz` included), so a body with more keys, objects, arrays (and, except where a
 * route takes long number arrays, values) than any request of the API needs is refused 413 unparsed.
 */
import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../../src/errors.ts";
import type { Config } from "../../src/config.ts";
import { isJson, mediaType } from "../input.ts";

/** The size and time limits of a body. */
export interface BodyReaderOptions {
  /** Largest body in bytes (declared by Content-Length or counted on the stream). */
  maxBytes: number;
  /** Time allowed for the whole body to arrive, from the start of reading. */
  timeoutMs: number;
}

/** The limits of a JSON body (module note), applied when the request's media type is JSON. */
export interface JsonLimits {
  /** Largest JSON body in bytes (below the route's `maxBytes`). */
  maxBytes: number;
  /** Most structural tokens: `:` (keys), `{`, `[` and, with `countValues`, `,` (values). */
  maxTokens: number;
  /** Count `,` too (false for a route whose JSON carries long number arrays: KServe V2 tensors). */
  countValues: boolean;
}

/**
 * The token limit of JSON bodies for `config`: a frame of `/v1/videos/frames` is `{"image":"data:...;base64,...",
 * "timestamp":...},` (7 tokens with a `data:` URL's `:` and `,`), so 8 per frame for MAX_FRAMES of them plus 256
 * for the options and envelopes (2304 by default; tests/routes/body_test.ts checks the largest request fits).
 */
export function jsonTokenLimit(config: Pick<Config, "maxFrames">): number {
  return 8 * config.maxFrames + 256;
}

const COLON = 0x3a, COMMA = 0x2c, BRACE = 0x7b, BRACKET = 0x5b;

/**
 * The structural tokens of a JSON body as `JsonLimits` counts them, stopping at `limit` + 1, so a hostile body
 * costs `limit` native `indexOf` steps and a legitimate one (few tokens, long base64 strings) one pass per
 * character. Characters inside strings count too: an over-count, never an under-count (base64 has none of them).
 */
export function countJsonTokens(bytes: Uint8Array, limit: number, countValues = true): number {
  let n = 0;
  for (const ch of countValues ? [COLON, BRACE, BRACKET, COMMA] : [COLON, BRACE, BRACKET]) {
    for (let at = bytes.indexOf(ch); at >= 0 && n <= limit; at = bytes.indexOf(ch, at + 1)) n++;
    if (n > limit) break;
  }
  return n;
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
export function bodyReader(
  { maxBytes: bodyBytes, timeoutMs, json }: BodyReaderOptions & { json?: JsonLimits },
): MiddlewareHandler {
  return async (c: Context, next) => {
    const req = c.req.raw;
    if (!req.body) return await next();
    // A JSON body is read under its own, lower limit: the stream stops there.
    const asJson = json && isJson(mediaType(req.headers.get("content-type") ?? undefined)) ? json : undefined;
    const maxBytes = asJson ? Math.min(asJson.maxBytes, bodyBytes) : bodyBytes;
    const tooBig = () => asJson ? jsonTooLarge(maxBytes) : tooLarge(maxBytes);
    const declared = declaredLength(req);
    if (declared !== undefined && declared > maxBytes) throw tooBig();
    const r = await readStream(req.body, { maxBytes, timeoutMs });
    if (!r.ok) throw r.reason === "too_large" ? tooBig() : bodyError(r, { maxBytes, timeoutMs, declared });
    if (declared !== undefined && r.bytes.length < declared) {
      throw new ApiError(
        "invalid_request",
        `Cannot read request body: the connection closed after ${r.bytes.length} of ${declared} bytes`,
        { issues: [{ path: "(body)", message: "the body ended early" }] },
      );
    }
    if (asJson) {
      const tokens = countJsonTokens(r.bytes, asJson.maxTokens, asJson.countValues);
      if (tokens > asJson.maxTokens) {
        const what = asJson.countValues ? "keys, values, objects and arrays" : "keys, objects and arrays";
        throw new ApiError(
          "payload_too_large",
          `Cannot read request: JSON body has more than ${asJson.maxTokens} ${what} (the limit; no request ` +
            `of this API needs more)`,
          { issues: [{ path: "(body)", message: `over ${asJson.maxTokens} ${what}` }] },
        );
      }
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

/** 413 for a JSON body over `maxBytes` (MAX_JSON_BODY_BYTES), pointing at the forms without base64. */
export function jsonTooLarge(maxBytes: number): ApiError {
  return new ApiError(
    "payload_too_large",
    `Cannot read request: JSON body is over the limit of ${maxBytes} bytes (MAX_JSON_BODY_BYTES; send a large ` +
      `image as multipart or a raw body)`,
  );
}

/** 413 for a body over `maxBytes`. */
export function tooLarge(maxBytes: number): ApiError {
  return new ApiError(
    "payload_too_large",
    `Cannot read request: body is over the limit of ${maxBytes} bytes`,
  );
}
