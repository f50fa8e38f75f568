/**
 * The documentation and operations endpoints outside the OpenAPI routes: the generated document, Prometheus
 * metrics, the typed client module, the offline Swagger UI with its vendored assets, and `/` -> `/docs`.
 */
import type { Handler } from "hono";
import { swaggerUI } from "@hono/swagger-ui";
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "text" };
import swaggerJs from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "text" };
import { clientModule } from "../openapi/bundle.ts";
import type { AppEnv } from "./context.ts";

/** A plain GET endpoint. */
export interface StaticRoute {
  method: "get";
  path: string;
  handler: Handler<AppEnv>;
}

const vendor = (body: string, type: string): Handler<AppEnv> => (c) =>
  c.body(body, 200, { "content-type": `${type}; charset=utf-8`, "cache-control": "public, max-age=86400" });

/** The static endpoints; `documentText` renders the OpenAPI document (built once, on first request). */
export function staticRoutes(documentText: () => string): StaticRoute[] {
  let doc: string | undefined;
  const routes: Omit<StaticRoute, "method">[] = [
    {
      path: "/openapi.json",
      handler: (c) =>
        c.body(doc ??= documentText(), 200, { "content-type": "application/json; charset=utf-8" }),
    },
    {
      path: "/metrics",
      handler: (c) =>
        c.body(c.get("deps").metrics.render(), 200, {
          "content-type": "text/plain; version=0.0.4; charset=utf-8",
        }),
    },
    {
      path: "/v1/client.ts",
      handler: (c) =>
        c.body(clientModule(), 200, {
          "content-type": "application/typescript; charset=utf-8",
          "cache-control": "no-cache",
        }),
    },
    { path: "/vendor/swagger-ui-dist/swagger-ui.css", handler: vendor(swaggerCss, "text/css") },
    { path: "/vendor/swagger-ui-dist/swagger-ui-bundle.js", handler: vendor(swaggerJs, "text/javascript") },
    {
      path: "/docs",
      handler: swaggerUI({
        url: "/openapi.json",
        baseUrl: "/vendor",
        validatorUrl: "none",
        title: "scan-fer API",
      }),
    },
    { path: "/", handler: (c) => c.redirect("/docs") },
  ];
  return routes.map((r) => ({ method: "get", ...r }));
}
