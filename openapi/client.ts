/**
 * The typed client of the scan-fer API: openapi-fetch over the types openapi-typescript generates from
 * openapi/openapi.json. The server also serves this module, made self-contained, at `GET /v1/client.ts`:
 *
 * ```ts
 * import { createClient } from "http://localhost:8080/v1/client.ts";
 * const api = createClient("http://localhost:8080", { apiKey: Deno.env.get("FER_KEY") });
 * const photo = new Blob([await Deno.readFile("face.jpg")], { type: "image/jpeg" });
 * await api.POST("/v1/expressions", { body: { image: photo } }); // multipart
 * await api.POST("/v1/expressions", { body: photo }); // raw image body
 * await api.POST("/v1/expressions", { body: { image: base64, maxFaces: 3 } }); // JSON
 * await api.POST("/v1/videos/frames", { body: { frames: [photo, photo], timestamps: "[0, 0.04]" } });
 * ```
 */
import createFetchClient, { mergeHeaders } from "openapi-fetch";
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

/** File bytes as the types allow them: a Blob (or File) or a Uint8Array. */
type Bytes = Blob | Uint8Array;

function isBytes(v: unknown): v is Bytes {
  return v instanceof Blob || v instanceof Uint8Array;
}

function toBlob(v: Bytes): Blob {
  return v instanceof Blob ? v : new Blob([v.slice()]);
}

/** A body object carries files (a file field or an array of files): its operation's multipart form. */
function isForm(body: unknown): body is Record<string, unknown> {
  return typeof body === "object" && body !== null && !isBytes(body) &&
    Object.values(body).some((v) => isBytes(v) || (Array.isArray(v) && v.some(isBytes)));
}

/** The multipart form of a body object: files as files (arrays as repeated fields), text as text. */
function toFormData(body: Record<string, unknown>): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(body)) {
    for (const [i, v] of (Array.isArray(value) ? value : [value]).entries()) {
      if (v === undefined) continue;
      if (isBytes(v)) form.append(name, toBlob(v), v instanceof File ? v.name : `${name}-${i}`);
      else form.append(name, typeof v === "string" ? v : JSON.stringify(v));
    }
  }
  return form;
}

// deno-lint-ignore no-explicit-any
type Init = { body?: unknown; headers?: any; [k: string]: unknown } | undefined;

/**
 * The request options with the body serializer the body's form needs. The generated types give each operation's
 * body as the union of its media types, and those shapes do not overlap: a Blob/Uint8Array is the raw `image/*`
 * body (sent with the Blob's type, else application/octet-stream), an object holding files is the multipart form,
 * anything else is JSON (openapi-fetch's default). So no call needs a serializer or a cast.
 */
function withSerializer(init: Init): Init {
  const body = init?.body;
  if (isBytes(body)) {
    const type = (body instanceof Blob && body.type) || "application/octet-stream";
    return {
      ...init,
      bodySerializer: toBlob,
      headers: mergeHeaders({ "Content-Type": type }, init?.headers),
    };
  }
  if (isForm(body)) return { ...init, bodySerializer: toFormData };
  return init;
}

/** Creates a client whose `GET`/`POST` calls are typed by path, parameters, bodies and responses. */
export function createClient(baseUrl: string, { apiKey, headers = {}, fetch }: ClientOptions = {}) {
  const client = createFetchClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ""),
    headers: apiKey ? { ...headers, authorization: `Bearer ${apiKey}` } : headers,
    ...(fetch ? { fetch } : {}),
  });
  // Only POST operations take a body in this API. The wrapper keeps openapi-fetch's typed signature.
  // Only POST operations take a body in this API. The wrapper only adds the serializer, so it keeps
  // openapi-fetch's typed signature (which TypeScript cannot state for a generic method's wrapper).
  const post = client.POST as unknown as (path: string, init: Init) => unknown;
  client.POST =
    ((path: string, init: Init) => post(path, withSerializer(init))) as unknown as typeof client.POST;
  return client;
}
