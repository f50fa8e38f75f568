/**
 * The typed client of the scan-fer API: openapi-fetch over the types openapi-typescript generates from
 * openapi/openapi.json. The server also serves this module, made self-contained, at `GET /v1/client.ts`:
 *
 * ```ts
 * import { createClient } from "http://localhost:8080/v1/client.ts";
 * const api = createClient("http://localhost:8080", { apiKey: Deno.env.get("FER_KEY") });
 * const { data, error } = await api.POST("/v1/expressions", { body: { image: base64 } });
 * ```
 */
import createFetchClient from "openapi-fetch";
import type { paths } from "./schema.d.ts";

export type { components, operations, paths } from "./schema.d.ts";

export interface ClientOptions {
  /** Sent as `Authorization: Bearer <apiKey>` when the server has API_KEYS configured. */
  apiKey?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** A custom fetch (tests, retries, tracing). */
  fetch?: (input: Request) => Promise<Response>;
}

/** Creates a client whose `GET`/`POST` calls are typed by path, parameters, bodies and responses. */
export function createClient(baseUrl: string, { apiKey, headers = {}, fetch }: ClientOptions = {}) {
  return createFetchClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ""),
    headers: apiKey ? { ...headers, authorization: `Bearer ${apiKey}` } : headers,
    ...(fetch ? { fetch } : {}),
  });
}
