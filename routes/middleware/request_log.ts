/**
 * The outermost middleware: gives every request an id (the client's `X-Request-Id` when well formed), a logger
 * carrying it and the server's dependencies, counts it in flight, and after it answers records its metrics and
 * one JSON access-log line.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv, Deps } from "../context.ts";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The latency buckets for a server whose longest request may take `videoTimeoutMs`: the fixed ones, then 60 s,
 * 120 s, ... up to the first bound at or past that deadline, so a video near its deadline is not only "+Inf".
 */
export function latencyBuckets(videoTimeoutMs: number): number[] {
  const out = [...LATENCY_BUCKETS];
  for (let b = 60; out[out.length - 1] < videoTimeoutMs / 1000; b *= 2) out.push(b);
  return out;
}

/** The request-id, metrics and access-log middleware for `deps` (registers its metrics once). */
export function requestLog(deps: Deps): MiddlewareHandler<AppEnv> {
  const { metrics, state } = deps;
  const requests = metrics.counter("fer_http_requests_total", "HTTP requests by route, method and status");
  const latency = metrics.histogram(
    "fer_http_request_duration_seconds",
    "HTTP request latency by route",
    latencyBuckets(deps.config.videoTimeoutMs),
  );
  metrics.gauge("fer_http_in_flight", "Requests being handled", () => state.inFlight);
  metrics.gauge(
    "process_resident_memory_bytes",
    "Resident set size of the server process",
    () => Deno.memoryUsage().rss,
  );
  return async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : crypto.randomUUID();
    c.set("deps", deps);
    c.set("requestId", requestId);
    c.set("log", deps.logger.child({ requestId }));
    const t0 = performance.now();
    state.inFlight++;
    try {
      await next();
    } finally {
      state.inFlight--;
      c.header("x-request-id", requestId);
      const route = c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
      const seconds = (performance.now() - t0) / 1000;
      requests({ route, method: c.req.method, status: String(c.res.status) });
      latency(seconds, { route });
      c.get("log").info("request", {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(seconds * 10000) / 10,
        bytes: Number(c.req.header("content-length") ?? 0) || undefined,
      });
    }
  };
}
