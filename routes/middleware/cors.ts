/**
 * CORS for the configured browser origins (`*` for any), exposing the request id and `Retry-After`. Only a real
 * preflight (OPTIONS with `Access-Control-Request-Method`) is answered here, without reading its body; any other
 * OPTIONS goes on to the key check like every other method.
 */
import type { MiddlewareHandler } from "hono";
import { cors as honoCors } from "hono/cors";

/** The CORS middleware for `origins` (non-empty). */
export function cors(origins: readonly string[]): MiddlewareHandler {
  const inner = honoCors({
    origin: origins.includes("*") ? "*" : [...origins],
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ["authorization", "x-api-key", "content-type", "x-request-id"],
    exposeHeaders: ["x-request-id", "retry-after"],
    maxAge: 600,
  });
  return async (c, next) => {
    if (c.req.method === "OPTIONS" && !c.req.header("access-control-request-method")) return await next();
    return await inner(c, next);
  };
}
