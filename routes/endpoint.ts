/**
 * One endpoint of the API as data: its `createRoute` definition and its handler. Each resource file exports its
 * endpoints as a list; the app registers the lists, and everything that depends on the set of endpoints (which
 * paths are behind the API key, which take a body, the `Allow` header of a 405) is derived from the route
 * objects here instead of being restated.
 */
import { type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { AppEnv } from "./context.ts";
import type { Config } from "../src/config.ts";

/** A route definition with its handler (the handler's types checked against the route when it is built). */
export interface Endpoint {
  route: RouteConfig;
  // deno-lint-ignore no-explicit-any
  handler: RouteHandler<any, AppEnv>;
  /** For a route with a body: the accepted body forms in words, for 415 messages. */
  accepted?: string;
  /** For a route with a body: its size limit when it is not MAX_BODY_BYTES (video uploads). */
  maxBodyBytes?: (config: Readonly<Config>) => number;
  /**
   * For a route whose JSON body carries long number arrays (KServe V2 tensors): its values are not counted
   * against the JSON token limit (routes/middleware/body.ts), only its keys, objects and arrays.
   */
  numberArrays?: boolean;
  /** For a route taking `video/*`: the folder raw bodies are written to as they arrive (not held in memory). */
  spool?: (config: Readonly<Config>) => string;
}

/** Pairs a route with its handler, type-checking one against the other. */
export function endpoint<R extends RouteConfig>(
  route: R,
  handler: RouteHandler<R, AppEnv>,
  { accepted, maxBodyBytes, numberArrays, spool }: Pick<
    Endpoint,
    "accepted" | "maxBodyBytes" | "numberArrays" | "spool"
  > = {},
): Endpoint {
  return {
    route,
    handler: handler as Endpoint["handler"],
    ...(accepted ? { accepted } : {}),
    ...(maxBodyBytes ? { maxBodyBytes } : {}),
    ...(numberArrays ? { numberArrays } : {}),
    ...(spool ? { spool } : {}),
  };
}

/** The Hono form of an OpenAPI path (`/v1/models/{id}` -> `/v1/models/:id`). */
export function honoPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ":$1");
}

/** A regular expression matching the concrete paths of an OpenAPI or Hono path. */
export function pathPattern(path: string): RegExp {
  const escaped = honoPath(path).split(/(:[^/]+)/).map((part) =>
    part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  );
  return new RegExp(`^${escaped.join("")}$`);
}

/** True when the route is behind the API key: exactly the routes that document a 401. */
export function isGuarded(route: RouteConfig): boolean {
  return "401" in route.responses;
}

/** The media types a route's request body may have (none: the route takes no body). */
export function bodyTypes(route: RouteConfig): string[] {
  return Object.keys(route.request?.body?.content ?? {});
}

/**
 * The multipart file field of a route's form body and whether it repeats (`frames`), read from its schema: the
 * first field of the form object, repeated when it is an array (possibly behind a preprocess).
 */
export function formFile(route: RouteConfig): { field: string; multiple: boolean } | undefined {
  const media = route.request?.body?.content?.["multipart/form-data"];
  const schema = media && "schema" in media ? media.schema : undefined;
  if (!(schema instanceof z.ZodObject)) return undefined;
  const [field] = Object.keys(schema.shape);
  const value = schema.shape[field];
  const inner = value instanceof z.ZodPipe ? value.out : value;
  return { field, multiple: inner instanceof z.ZodArray };
}
