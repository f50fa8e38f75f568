/**
 * The OpenAPI 3.1 document of the API, generated from the zod schemas registered on the app's routes. A few facts
 * zod-openapi cannot express are added here: the request bodies of the inference routes are required (the
 * routes declare them optional only to stop cross-media-type validation), and the API-key security schemes on
 * the operations that document a 401.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";

// deno-lint-ignore no-explicit-any
type AnyApp = OpenAPIHono<any, any, any>;

/** Builds the document from an app; deterministic for a given set of routes and schemas. */
export function buildOpenApiDocument(app: AnyApp): Record<string, unknown> {
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "scan-fer",
      version: "1.0.0",
      description:
        "Facial expression recognition API (SCAN+CCI and the face-api baseline). It estimates the " +
        "visible facial expression, not inner emotional states. Errors are RFC 9457 problem+json with a " +
        "stable `code`.",
    },
    // Relative: Swagger UI's "Try it out" then calls the host and port that served /docs (any deployment URL).
    servers: [{ url: "/" }],
  }) as unknown as {
    paths: Record<
      string,
      Record<string, { requestBody?: { required?: boolean }; responses?: object; security?: unknown }>
    >;
    components: Record<string, unknown>;
  };
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const op of Object.values(ops)) {
      if (op.requestBody && path.startsWith("/v1/")) op.requestBody.required = true;
      // Behind the API key: the operations that document a 401 (the app guards exactly those routes).
      if ("401" in (op.responses ?? {})) op.security = [{ bearerAuth: [] }, { apiKeyHeader: [] }, {}];
    }
  }
  doc.components.securitySchemes = {
    bearerAuth: { type: "http", scheme: "bearer", description: "One of API_KEYS" },
    apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key", description: "One of API_KEYS" },
  };
  return doc as unknown as Record<string, unknown>;
}
