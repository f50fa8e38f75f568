/**
 * Every error as `application/problem+json`: thrown `ApiError`s, Hono's own HTTP errors (malformed JSON and the
 * like, mapped to the table's generic code for their status), unknown paths (404) and known paths with the
 * wrong method (405 with `Allow`, derived from the registered routes).
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, codeForStatus, toProblem } from "../src/errors.ts";
import type { AppEnv } from "./context.ts";
import { pathPattern } from "./endpoint.ts";

/** The problem response for any thrown value, with `extra` headers. */
export function problemResponse(
  c: Context<AppEnv>,
  err: unknown,
  extra: Record<string, string> = {},
): Response {
  const { problem, headers } = toProblem(err, { instance: c.req.path, requestId: c.get("requestId") });
  if (problem.code === "unauthorized") headers["www-authenticate"] = 'Bearer realm="scan-fer"';
  // A client that stalled mid-body may still be sending: do not keep reading from that connection.
  if (problem.code === "request_timeout") headers["connection"] = "close";
  return new Response(JSON.stringify(problem), { status: problem.status, headers: { ...headers, ...extra } });
}

/**
 * Hono's own HTTP errors in the house form ("Cannot <action>: ..."): malformed JSON names where the parse failed
 * (the body is in memory, so parsing it again to get the reason is cheap next to the failed parse itself),
 * a malformed form says so, anything else keeps its message behind "Cannot handle request".
 */
async function fromHttpException(c: Context<AppEnv>, err: HTTPException): Promise<ApiError> {
  const code = codeForStatus(err.status);
  if (err.status === 400 && err.message === "Malformed JSON in request body") {
    let why = c.req.header("content-length") === "0" ? "empty (0 bytes)" : "malformed JSON";
    if (why === "malformed JSON") {
      try {
        JSON.parse(await c.req.text());
      } catch (e) {
        why = `malformed JSON (${(e as Error).message})`;
      }
    }
    return new ApiError(code, `Cannot read json: the body is ${why}`, {
      issues: [{ path: "(body)", message: "expected a JSON object" }],
    });
  }
  if (err.status === 400 && err.message.startsWith("Malformed FormData request.")) {
    const why = err.message.slice("Malformed FormData request.".length).trim();
    return new ApiError(code, `Cannot read form: malformed multipart body${why ? ` (${why})` : ""}`, {
      issues: [{ path: "(body)", message: "malformed multipart/form-data" }],
    });
  }
  return new ApiError(code, `Cannot handle request: ${err.message || `status ${err.status}`}`);
}

/** The error handler: logs bugs and server-side failures, answers a problem. */
export const onError: ErrorHandler<AppEnv> = async (err, c) => {
  if (err instanceof HTTPException && !(err instanceof ApiError)) {
    return problemResponse(c, await fromHttpException(c, err));
  }
  if (!(err instanceof ApiError)) {
    c.get("log")?.error("unhandled error", { error: String((err as Error)?.stack ?? err) });
  } else if (err.status >= 500) {
    c.get("log")?.warn("request failed", { code: err.code, detail: err.message });
  }
  return problemResponse(c, err);
};

/**
 * The not-found handler for an app serving `routes` (method and path each): a known path with the wrong method
 * answers 405 with `Allow` (GET routes also answer HEAD), anything else 404.
 */
export function notFound(routes: readonly { method: string; path: string }[]): NotFoundHandler<AppEnv> {
  const known = routes.map((r) => ({ method: r.method.toUpperCase(), pattern: pathPattern(r.path) }));
  return (c) => {
    const methods = [...new Set(known.filter((k) => k.pattern.test(c.req.path)).map((k) => k.method))];
    if (methods.length) {
      const allow = methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
      return problemResponse(
        c,
        new ApiError(
          "method_not_allowed",
          `Cannot route request: ${c.req.path} takes ${methods[0]}, not ${c.req.method}`,
        ),
        { allow },
      );
    }
    return problemResponse(
      c,
      new ApiError("not_found", `Cannot route request: no endpoint ${c.req.method} ${c.req.path}`),
    );
  };
}
