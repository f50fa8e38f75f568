/**
 * Makes `openapi/client.ts` servable at `GET /v1/client.ts`: a module fetched over HTTP resolves its imports
 * relative to its URL, so the served copy inlines the generated types and imports openapi-fetch by its absolute,
 * pinned `npm:` specifier. `import { createClient } from "http://host/v1/client.ts"` then needs nothing else.
 */
import clientSource from "./client.ts" with { type: "text" };
import schemaSource from "./schema.d.ts" with { type: "text" };
import denoJson from "../deno.json" with { type: "json" };

/** The npm: specifier of openapi-fetch pinned in deno.json. */
export function openapiFetchSpecifier(): string {
  return (denoJson.imports as Record<string, string>)["openapi-fetch"];
}

/** Builds the self-contained client module from its two sources. */
export function bundleClient(client: string, schema: string, specifier = openapiFetchSpecifier()): string {
  const body = client
    .replace(/from "openapi-fetch";/, `from "${specifier}";`)
    .replace(/^import type \{[^}]*\} from "\.\/schema\.d\.ts";\n/m, "")
    .replace(/^export type \{[^}]*\} from "\.\/schema\.d\.ts";\n/m, "");
  return `// Served by scan-fer at GET /v1/client.ts: openapi/client.ts with openapi/schema.d.ts inlined.\n` +
    `${body}\n// ---- generated types (openapi-typescript) ----\n${schema}`;
}

let cached: string | undefined;
/** The served module (built once per process). */
export function clientModule(): string {
  cached ??= bundleClient(clientSource, schemaSource);
  return cached;
}
