/**
 * The HTTP application: request ids and JSON access logs, Prometheus metrics, CORS, API keys (constant-time),
 * per-key rate limits, streamed body limits, the OpenAPI routes, the generated document, offline Swagger UI and
 * the typed client module. Every error, including malformed JSON and wrong content types, answers
 * `application/problem+json`.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import type { Context } from "hono";
import { swaggerUI } from "@hono/swagger-ui";
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "text" };
import swaggerJs from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "text" };
import { ApiError, type ErrorCode, toProblem } from "./errors.ts";
import { createRateLimiter } from "./ratelimit.ts";
import { bodyReader } from "./body.ts";
import type { AppEnv, Deps } from "../routes/context.ts";
import { ACCEPTED, formFiles, issuesOf, mediaType, unsupportedType } from "../routes/input.ts";
import * as health from "../routes/health.routes.ts";
import * as healthHandlers from "../routes/health.handlers.ts";
import * as models from "../routes/models.routes.ts";
import * as modelHandlers from "../routes/models.handlers.ts";
import { classifyExpressions } from "../routes/expressions.routes.ts";
import { classifyExpressionsHandler } from "../routes/expressions.handlers.ts";
import { classifyFrames } from "../routes/videos.routes.ts";
import { classifyFramesHandler } from "../routes/videos.handlers.ts";
import { buildOpenApiDocument } from "../openapi/document.ts";
import { clientModule } from "../openapi/bundle.ts";

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

function problemResponse(c: Context<AppEnv>, err: unknown, extra: Record<string, string> = {}): Response {
  const { problem, headers } = toProblem(err, { instance: c.req.path, requestId: c.get("requestId") });
  if (problem.code === "unauthorized") headers["www-authenticate"] = 'Bearer realm="scan-fer"';
  // A client that stalled mid-body may still be sending: do not keep reading from that connection.
  if (problem.code === "request_timeout") headers["connection"] = "close";
  return new Response(JSON.stringify(problem), { status: problem.status, headers: { ...headers, ...extra } });
}

const HTTP_CODES: Record<number, ErrorCode> = {
  400: "invalid_request",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  408: "request_timeout",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

/** Builds the app around its dependencies. Models may load later: inference answers 503 until then. */
export function createApp(deps: Deps): OpenAPIHono<AppEnv> {
  const { config, metrics, state } = deps;
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: async (result, c) => {
      if (!result.success && result.target === "form") {
        // Name the field the route expects (wrong name, text value, repeated `image`) instead of "Invalid input".
        const frames = c.req.path.startsWith("/v1/videos/");
        await formFiles(c.req, frames ? "frames" : "image", { multiple: frames });
      }
      if (!result.success) {
        throw new ApiError("invalid_request", `Cannot read ${result.target}: some values are invalid`, {
          issues: issuesOf(
            result.error,
            result.target === "json" || result.target === "form" ? "" : result.target,
          ),
        });
      }
    },
  });
  const requests = metrics.counter("fer_http_requests_total", "HTTP requests by route, method and status");
  const latency = metrics.histogram("fer_http_request_duration_seconds", "HTTP request latency by route", [
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
  ]);
  metrics.gauge("fer_http_in_flight", "Requests being handled", () => state.inFlight);
  metrics.gauge(
    "process_resident_memory_bytes",
    "Resident set size of the server process",
    () => Deno.memoryUsage().rss,
  );

  app.use("*", async (c, next) => {
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
  });

  if (config.corsOrigins.length) {
    app.use(
      "*",
      cors({
        origin: config.corsOrigins.includes("*") ? "*" : [...config.corsOrigins],
        allowMethods: ["GET", "POST", "OPTIONS"],
        allowHeaders: ["authorization", "x-api-key", "content-type", "x-request-id"],
        exposeHeaders: ["x-request-id", "retry-after"],
        maxAge: 600,
      }),
    );
  }

  const limiter = config.rateLimitPerMin > 0
    ? createRateLimiter({ perMinute: config.rateLimitPerMin })
    : undefined;
  const guard = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    if (c.req.method === "OPTIONS") return await next();
    let who = "anonymous";
    if (config.apiKeys.length) {
      const auth = c.req.header("authorization");
      const key = auth?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim() ?? c.req.header("x-api-key")?.trim();
      if (!key || !keyMatches(key, config.apiKeys)) {
        throw new ApiError(
          "unauthorized",
          key
            ? "Cannot authenticate: the API key is not valid"
            : "Cannot authenticate: no API key (send Authorization: Bearer <key> or X-API-Key)",
        );
      }
      who = `key:${key}`;
    } else {
      // Behind a proxy (Knative, Cloud Run) the client is the first X-Forwarded-For entry; else the peer address.
      const peer = (c.env as Deno.ServeHandlerInfo | undefined)?.remoteAddr as Deno.NetAddr | undefined;
      who = `addr:${c.req.header("x-forwarded-for")?.split(",")[0].trim() ?? peer?.hostname ?? "local"}`;
    }
    if (limiter && c.req.method === "POST") {
      const d = limiter.take(who);
      if (!d.allowed) {
        throw new ApiError(
          "rate_limited",
          `Cannot accept request: over ${config.rateLimitPerMin} requests per minute`,
          {
            retryAfterSeconds: d.retryAfterSeconds,
          },
        );
      }
    }
    await next();
  };
  // Model metadata is behind the key in both forms (v1 and the v2 aliases); only the health probes stay open.
  const guarded = ["/v1/expressions", "/v1/videos/*", "/v1/models", "/v1/models/*", "/v2", "/v2/models/*"];
  for (const p of guarded) app.use(p, guard);
  // Bodies are read once, in full, before validation: limit on size and time, early close -> 400 (src/body.ts).
  const limit = bodyReader({ maxBytes: config.maxBodyBytes, timeoutMs: config.bodyTimeoutMs });
  // Before the route validators: a form-urlencoded or text body is the wrong media type (415), not a bad field.
  const accepts = (frames: boolean) => async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const type = mediaType(c.req.header("content-type"));
    const ok = type === "" || type === "multipart/form-data" || type === "application/json" ||
      type.endsWith("+json") ||
      (!frames && (type.startsWith("image/") || type === "application/octet-stream"));
    if (c.req.method === "POST" && !ok) {
      throw unsupportedType(type, frames ? ACCEPTED.frames : ACCEPTED.expressions);
    }
    await next();
  };
  app.use("/v1/expressions", accepts(false), limit);
  app.use("/v1/videos/*", accepts(true), limit);

  app.openapi(health.healthz, healthHandlers.healthzHandler);
  app.openapi(health.readyz, healthHandlers.readyzHandler);
  app.openapi(health.v2Live, healthHandlers.v2LiveHandler);
  app.openapi(health.v2Ready, healthHandlers.v2ReadyHandler);
  app.openapi(health.v2Server, healthHandlers.v2ServerHandler);
  app.openapi(health.v2Model, healthHandlers.v2ModelHandler);
  app.openapi(health.v2ModelReady, healthHandlers.v2ModelReadyHandler);
  app.openapi(models.listModels, modelHandlers.listModelsHandler);
  app.openapi(models.getModel, modelHandlers.getModelHandler);
  app.openapi(classifyExpressions, classifyExpressionsHandler);
  app.openapi(classifyFrames, classifyFramesHandler);

  let doc: string | undefined;
  app.get("/openapi.json", (c) => {
    doc ??= JSON.stringify(buildOpenApiDocument(app));
    return c.body(doc, 200, { "content-type": "application/json; charset=utf-8" });
  });
  app.get(
    "/metrics",
    (c) => c.body(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
  app.get("/v1/client.ts", (c) =>
    c.body(clientModule(), 200, {
      "content-type": "application/typescript; charset=utf-8",
      "cache-control": "no-cache",
    }));
  app.get(
    "/vendor/swagger-ui-dist/swagger-ui.css",
    (c) =>
      c.body(swaggerCss, 200, {
        "content-type": "text/css; charset=utf-8",
        "cache-control": "public, max-age=86400",
      }),
  );
  app.get(
    "/vendor/swagger-ui-dist/swagger-ui-bundle.js",
    (c) =>
      c.body(swaggerJs, 200, {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "public, max-age=86400",
      }),
  );
  app.get(
    "/docs",
    swaggerUI({ url: "/openapi.json", baseUrl: "/vendor", validatorUrl: "none", title: "scan-fer API" }),
  );
  app.get("/", (c) => c.redirect("/docs"));

  // Known paths with the wrong method answer 405 with Allow (not 404), whatever the path.
  const POST_ONLY = new Set(["/v1/expressions", "/v1/videos/frames"]);
  const GET_ONLY = [
    /^\/(healthz|readyz|metrics|openapi\.json|docs|)$/,
    /^\/v1\/(models|client\.ts)$/,
    /^\/v1\/models\/[^/]+$/,
    /^\/v2(\/health\/(live|ready))?$/,
    /^\/v2\/models\/[^/]+(\/ready)?$/,
    /^\/vendor\/swagger-ui-dist\/swagger-ui(\.css|-bundle\.js)$/,
  ];
  app.notFound((c) => {
    const allow = POST_ONLY.has(c.req.path)
      ? "POST"
      : GET_ONLY.some((r) => r.test(c.req.path))
      ? "GET, HEAD"
      : undefined;
    if (allow) {
      return problemResponse(
        c,
        new ApiError(
          "method_not_allowed",
          `Cannot route request: ${c.req.path} takes ${allow.split(",")[0]}, not ${c.req.method}`,
        ),
        { allow },
      );
    }
    return problemResponse(
      c,
      new ApiError("not_found", `Cannot route request: no endpoint ${c.req.method} ${c.req.path}`),
    );
  });
  app.onError((err, c) => {
    if (err instanceof HTTPException && !(err instanceof ApiError)) {
      const code = HTTP_CODES[err.status] ?? (err.status >= 500 ? "internal_error" : "invalid_request");
      return problemResponse(c, new ApiError(code, err.message || `Cannot handle request (${err.status})`));
    }
    if (!(err instanceof ApiError)) {
      c.get("log")?.error("unhandled error", { error: String((err as Error)?.stack ?? err) });
    } else if (err.status >= 500) {
      c.get("log")?.warn("request failed", { code: err.code, detail: err.message });
    }
    return problemResponse(c, err);
  });
  return app;
}
