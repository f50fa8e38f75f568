/**
 * The media-type gate of a route with a body, before its validators: a POST whose body type the route does not
 * declare (a form-urlencoded or text body, say) is the wrong media type (415), not a bad field. The accepted
 * types are the route's own `request.body.content` keys.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context.ts";
import { isJson, mediaType, unsupportedType } from "../input.ts";

/** True when `type` is one of `declared` (`image/*` covers every `image/` type, JSON covers `+json`). */
export function typeAccepted(type: string, declared: readonly string[]): boolean {
  return type === "" ||
    declared.some((d) =>
      d === type || (d.endsWith("/*") && type.startsWith(d.slice(0, -1))) ||
      (d === "application/json" && isJson(type))
    );
}

/** The gate for a route declaring `declared` body types; `accepted` words them for the 415 message. */
export function accepts(declared: readonly string[], accepted: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = mediaType(c.req.header("content-type"));
    if (c.req.method === "POST" && !typeAccepted(type, declared)) throw unsupportedType(type, accepted);
    await next();
  };
}
