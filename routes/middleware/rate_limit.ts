/**
 * Per-client rate limit of inference (POST) requests, over the token buckets of src/ratelimit.ts: a client (as
 * the auth middleware named it) over RATE_LIMIT_PER_MIN gets 429 with `Retry-After`.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../src/errors.ts";
import { createRateLimiter } from "../../src/ratelimit.ts";
import type { AppEnv } from "../context.ts";

/** The rate-limit middleware for `perMinute` POST requests per client; runs after `auth`. */
export function rateLimit(perMinute: number): MiddlewareHandler<AppEnv> {
  const limiter = createRateLimiter({ perMinute });
  return async (c, next) => {
    if (c.req.method === "POST") {
      const d = limiter.take(c.get("client") ?? "anonymous");
      if (!d.allowed) {
        throw new ApiError("rate_limited", `Cannot accept request: over ${perMinute} requests per minute`, {
          retryAfterSeconds: d.retryAfterSeconds,
        });
      }
    }
    await next();
  };
}
