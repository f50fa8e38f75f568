/** CORS for the configured browser origins (`*` for any), exposing the request id and `Retry-After`. */
import { cors as honoCors } from "hono/cors";

/** The CORS middleware for `origins` (non-empty). */
export function cors(origins: readonly string[]) {
  return honoCors({
    origin: origins.includes("*") ? "*" : [...origins],
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ["authorization", "x-api-key", "content-type", "x-request-id"],
    exposeHeaders: ["x-request-id", "retry-after"],
    maxAge: 600,
  });
}
