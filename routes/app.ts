/**
 * The HTTP application, built from the list of route modules: request ids and JSON access logs, Prometheus
 * metrics, CORS, API keys (constant-time), per-client rate limits, streamed body limits, the OpenAPI routes, the
 * generated document, offline Swagger UI and the typed client module. Which paths are behind the key, which
 * take a body and what a wrong method may use are read from the route objects. Every error, including
 * malformed JSON and wrong content types, answers `application/problem+json`.
 */
import { type Hook, OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import { ApiError } from "../src/errors.ts";
import type { AppEnv, Deps } from "./context.ts";
import { bodyTypes, type Endpoint, formFile, honoPath, isGuarded } from "./endpoint.ts";
import { formFiles, formIssues, invalidDetail, issuesOf, queryIssues } from "./input.ts";
import { HEALTH_ENDPOINTS } from "./health.handlers.ts";
import { MODEL_ENDPOINTS } from "./models.handlers.ts";
import { EXPRESSION_ENDPOINTS } from "./expressions.handlers.ts";
import { VIDEO_ENDPOINTS } from "./videos.handlers.ts";
import { INFER_ENDPOINTS } from "./infer.handlers.ts";
import { JOB_ENDPOINTS } from "./jobs.handlers.ts";
import { CAPABILITY_ENDPOINTS } from "./capabilities.handlers.ts";
import { staticRoutes } from "./static.ts";
import { notFound, onError } from "./problems.ts";
import { requestLog } from "./middleware/request_log.ts";
import { cors } from "./middleware/cors.ts";
import { auth } from "./middleware/auth.ts";
import { rateLimit } from "./middleware/rate_limit.ts";
import { accepts } from "./middleware/accepts.ts";
import { bodyReader, jsonTokenLimit } from "./middleware/body.ts";
import { videoUpload } from "./middleware/upload.ts";
import { buildOpenApiDocument } from "../openapi/document.ts";

/** Every OpenAPI endpoint of the API, resource by resource (the document lists them in this order). */
export const ENDPOINTS: readonly Endpoint[] = [
  ...HEALTH_ENDPOINTS,
  ...MODEL_ENDPOINTS,
  ...CAPABILITY_ENDPOINTS,
  ...EXPRESSION_ENDPOINTS,
  ...VIDEO_ENDPOINTS,
  ...INFER_ENDPOINTS,
  ...JOB_ENDPOINTS,
];

/**
 * The validation hook of a route: a failed check is a 400 listing the zod issues. A form that fails is read
 * again for its file field first, so a wrong field name, a text value or a repeated `image` gets a message
 * naming the field the route expects instead of "Invalid input".
 */
// deno-lint-ignore no-explicit-any
function validationHook(route: RouteConfig): Hook<any, AppEnv, string, Promise<Response> | undefined> {
  const file = formFile(route);
  const query = route.request?.query;
  const options = query instanceof z.ZodObject ? Object.keys(query.shape) : [];
  return (result, c) => {
    if (result.success) return undefined;
    return (async (): Promise<Response> => {
      if (result.target === "form" && file) await formFiles(c.req, file.field, { multiple: file.multiple });
      const found = issuesOf(
        result.error,
        result.target === "json" || result.target === "form" ? "" : result.target,
      );
      const issues = result.target === "query"
        ? queryIssues(found, c.req.queries())
        : result.target === "form"
        ? formIssues(found, options)
        : found;
      throw new ApiError("invalid_request", invalidDetail(result.target, issues), { issues });
    })();
  };
}

/** Builds the app around its dependencies. Models may load later: inference answers 503 until then. */
export function createApp(deps: Deps): OpenAPIHono<AppEnv> {
  const { config } = deps;
  const app = new OpenAPIHono<AppEnv>();
  app.use("*", requestLog(deps));
  if (config.corsOrigins.length) app.use("*", cors(config.corsOrigins));

  const guard = auth(config.apiKeys, config.trustedProxies);
  const limit = config.rateLimitPerMin > 0 ? rateLimit(config.rateLimitPerMin) : undefined;
  // Bodies are read once, in full, before validation: limit on size and time, early close -> 400. A JSON body
  // has a lower size limit and a cap on its keys and values, checked before it is parsed.
  const json = (e: Endpoint) => ({
    maxBytes: config.maxJsonBodyBytes,
    maxTokens: jsonTokenLimit(config),
    countValues: !e.numberArrays,
  });
  // Several methods on one path (GET and DELETE /v1/jobs/{id}) share its middleware: register it once.
  const guarded = new Set<string>();
  for (const e of ENDPOINTS) {
    const path = honoPath(e.route.path);
    if (isGuarded(e.route) && !guarded.has(path)) {
      guarded.add(path);
      app.use(path, guard);
      if (limit) app.use(path, limit);
    }
    const types = bodyTypes(e.route);
    if (types.length) {
      // Only the route's own method has its body read; any other (OPTIONS with a 24 MiB body, say) is
      // answered 405 unread, and the transport closes the connection rather than read the rest.
      const method = e.route.method.toUpperCase();
      const gate = accepts(types, e.accepted ?? types.join(", "));
      const maxBytes = e.maxBodyBytes?.(config) ?? config.maxBodyBytes;
      const limited = bodyReader({ maxBytes, timeoutMs: config.bodyTimeoutMs, json: json(e) });
      // Raw video bodies go to a file as they arrive; a multipart upload is still read into memory.
      const spool = e.spool
        ? videoUpload({ dir: e.spool(config), maxBytes, timeoutMs: config.bodyTimeoutMs })
        : undefined;
      app.use(path, async (c, next) => {
        if (c.req.method !== method) return await next();
        await gate(c, async () => {
          if (spool) {
            await spool(c, async () => {
              await limited(c, next);
            });
          } else await limited(c, next);
        });
      });
    }
  }
  for (const e of ENDPOINTS) app.openapi(e.route, e.handler, validationHook(e.route));

  const plain = staticRoutes(() => JSON.stringify(buildOpenApiDocument(app)));
  for (const r of plain) app.get(r.path, r.handler);
  app.notFound(notFound([...ENDPOINTS.map((e) => e.route), ...plain]));
  app.onError(onError);
  return app;
}
