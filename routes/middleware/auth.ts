/**
 * API keys (constant-time): with API_KEYS set, a guarded route needs `Authorization: Bearer <key>` or
 * `X-API-Key` (401 otherwise) for every method, OPTIONS included, and before any body is read (the body reader
 * runs after this). A CORS preflight never reaches here when CORS is on: the CORS middleware answers it first. It names the client for the rate limit: its key, or without keys its address (the
 * socket peer, or, when the peer is one of TRUSTED_PROXIES, the address those proxies saw; see src/cidr.ts).
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../src/errors.ts";
import { type Cidr, clientAddress } from "../../src/cidr.ts";
import type { AppEnv } from "../context.ts";

const encoder = new TextEncoder();

/** Constant-time membership test: compares against every key, always over the same number of bytes. */
export function keyMatches(candidate: string, keys: readonly string[]): boolean {
  const c = encoder.encode(candidate);
  let found = 0;
  for (const k of keys) {
    const b = encoder.encode(k);
    let diff = b.length ^ c.length;
    for (let i = 0; i < b.length; i++) diff |= b[i] ^ (c[i % Math.max(1, c.length)] ?? 0);
    found |= diff === 0 ? 1 : 0;
  }
  return found === 1;
}

/** The authentication middleware for `apiKeys` (none: everyone passes, named by address). */
export function auth(
  apiKeys: readonly string[],
  trustedProxies: readonly Cidr[] = [],
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (apiKeys.length) {
      const header = c.req.header("authorization");
      const key = header?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim() ?? c.req.header("x-api-key")?.trim();
      if (!key || !keyMatches(key, apiKeys)) {
        throw new ApiError(
          "unauthorized",
          key
            ? "Cannot authenticate: the API key is not valid"
            : "Cannot authenticate: no API key (send Authorization: Bearer <key> or X-API-Key)",
        );
      }
      c.set("client", `key:${key}`);
    } else {
      const peer = (c.env as Deno.ServeHandlerInfo | undefined)?.remoteAddr as Deno.NetAddr | undefined;
      const address = clientAddress(
        peer?.hostname ?? "local",
        c.req.header("x-forwarded-for"),
        trustedProxies,
      );
      c.set("client", `addr:${address}`);
    }
    await next();
  };
}
