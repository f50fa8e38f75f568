/**
 * The OpenAPI 3.1 document of the API, generated from the zod schemas registered on the app's routes. A few facts
 * zod-openapi cannot express are added here: the request bodies of the inference routes are required (the
 * routes declare them optional only to stop cross-media-type validation), and the API-key security schemes on
 * the operations that document a 401, and request bodies as the zod *input* types (see `inputSchemas`).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";

// deno-lint-ignore no-explicit-any
type AnyApp = OpenAPIHono<any, any, any>;

/** The operations' tags, described (in the order Swagger UI lists them). */
const TAGS = [
  { name: "expressions", description: "Facial expressions of the faces in one image" },
  { name: "videos", description: "Facial expressions over a batch of video frames, with tracks" },
  { name: "jobs", description: "Whole video files as asynchronous jobs: upload, progress, results, cancel" },
  { name: "models", description: "The served models: manifests, licences, intended use" },
  { name: "health", description: "Liveness and readiness (no API key)" },
  { name: "v2", description: "Open Inference Protocol (KServe V2): health, metadata and tensor inference" },
];

/** Builds the document from an app; deterministic for a given set of routes and schemas. */
export function buildOpenApiDocument(app: AnyApp): Record<string, unknown> {
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "scan-fer",
      version: "1.0.0",
      // The API's code. The repository has no licence file yet, so none is claimed here; each model's
      // weights carry their own licence (`license` in /v1/models).
      license: { name: "All rights reserved (no licence chosen yet); model weights: see /v1/models" },
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
      // The others (health, readiness) say explicitly that they need none.
      op.security = "401" in (op.responses ?? {}) ? [{ bearerAuth: [] }, { apiKeyHeader: [] }, {}] : [];
    }
  }
  inputSchemas(doc);
  (doc as { tags?: unknown }).tags = TAGS;
  doc.components.securitySchemes = {
    bearerAuth: { type: "http", scheme: "bearer", description: "One of API_KEYS" },
    apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key", description: "One of API_KEYS" },
  };
  return doc as unknown as Record<string, unknown>;
}

type Schema = {
  properties?: Record<string, Schema & { default?: unknown; description?: string }>;
  $ref?: string;
};

/**
 * Request body schemas are the zod input types: a field with a default may be left out. A `default` in a
 * component schema tells generators the field is always present (openapi-typescript's default
 * `defaultNonNullable` makes it required), which is true of responses but not of requests, so in the schemas
 * request bodies reference it moves into the description. The server's behaviour is unchanged: a JSON body
 * option left out keeps the query string's value, whose default the query parameter still declares.
 */
function inputSchemas(
  doc: { paths: Record<string, Record<string, unknown>>; components: Record<string, unknown> },
) {
  const schemas = (doc.components.schemas ?? {}) as Record<string, Schema>;
  const seen = new Set<string>();
  const visit = (s: Schema | undefined) => {
    if (!s) return;
    if (s.$ref) {
      const name = s.$ref.replace("#/components/schemas/", "");
      if (seen.has(name)) return;
      seen.add(name);
      return visit(schemas[name]);
    }
    for (const [name, p] of Object.entries(s.properties ?? {})) {
      if ("default" in p) {
        const absent = `Absent: the query string's \`${name}\` (default ${JSON.stringify(p.default)}).`;
        p.description = p.description ? `${p.description}. ${absent}` : absent;
        delete p.default;
      }
      visit(p);
      visit((p as { items?: Schema }).items);
    }
  };
  for (const ops of Object.values(doc.paths)) {
    for (
      const op of Object.values(ops) as { requestBody?: { content?: Record<string, { schema?: Schema }> } }[]
    ) {
      for (const media of Object.values(op.requestBody?.content ?? {})) visit(media.schema);
    }
  }
}
