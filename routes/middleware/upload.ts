/**
 * Video uploads sent as a raw `video/*` body are written to a file as they arrive instead of being held in
 * memory: counted against the route's limit (413), bounded by BODY_TIMEOUT_MS (408), a cut-short upload is a
 * 400 and leaves no file. The handler finds the file's path in `c.get("upload")` and owns it from then on
 * (the job service moves it into place; whatever is left after the handler is removed). Other body types
 * pass on to the buffering body reader.
 */
import { join } from "node:path";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";
import { mediaType } from "../input.ts";
import { bodyError, declaredLength, drain, tooLarge } from "./body.ts";

/** The spooling middleware: files go to `dir` (created when missing). */
export function videoUpload(
  { dir, maxBytes, timeoutMs }: { dir: string; maxBytes: number; timeoutMs: number },
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const req = c.req.raw;
    if (!req.body || !mediaType(c.req.header("content-type")).startsWith("video/")) return await next();
    const declared = declaredLength(req);
    if (declared !== undefined && declared > maxBytes) throw tooLarge(maxBytes);
    await Deno.mkdir(dir, { recursive: true });
    const path = join(dir, `${crypto.randomUUID()}.part`);
    const file = await Deno.open(path, { write: true, createNew: true });
    let closed = false;
    try {
      const writer = file.writable.getWriter();
      const r = await drain(req.body, { maxBytes, timeoutMs }, (chunk) => writer.write(chunk));
      if (r.ok) await writer.close();
      else await writer.abort().catch(() => {});
      closed = true;
      if (!r.ok) throw bodyError(r, { maxBytes, timeoutMs, declared });
      if (declared !== undefined && r.received < declared) {
        throw bodyError({ ok: false, reason: "closed", received: r.received }, {
          maxBytes,
          timeoutMs,
          declared,
        });
      }
      c.set("upload", path);
      // The body is consumed: later readers see an empty request with the counted length.
      const headers = new Headers(req.headers);
      headers.delete("transfer-encoding");
      headers.set("content-length", String(r.received));
      // Keep the transport's signal: it says when the client has gone (cancellation).
      c.req.raw = new Request(req.url, { method: req.method, headers, signal: req.signal });
      await next();
    } finally {
      if (!closed) file.close();
      await Deno.remove(path).catch(() => {});
    }
  };
}
