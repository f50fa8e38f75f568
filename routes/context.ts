/**
 * The Hono environment shared by the app and every handler: per-request variables (request id, logger) and the
 * server's dependencies (config, model registry once loaded, metrics, state).
 */
import type { Config } from "../src/config.ts";
import type { Registry } from "../src/registry.ts";
import type { Logger } from "../src/logger.ts";
import type { Metrics } from "../src/metrics.ts";
import { ApiError } from "../src/errors.ts";
import type { Jobs } from "../src/jobs/jobs.ts";
import type { JobBackend } from "../src/jobs/store.ts";

/** Mutable server state: the registry appears when models are loaded; `draining` is set on SIGTERM. */
export interface ServerState {
  registry?: Registry;
  draining: boolean;
  /** Requests being handled right now (for draining). */
  inFlight: number;
}

/** What the app is built around. */
export interface Deps {
  config: Readonly<Config>;
  state: ServerState;
  logger: Logger;
  metrics: Metrics;
  /** The video job service (absent in apps built without a data folder, e.g. the OpenAPI generator). */
  jobs?: Jobs<JobBackend>;
}

/** The Hono environment of the app and its handlers. */
export type AppEnv = {
  Variables: {
    deps: Deps;
    requestId: string;
    log: Logger;
    /** Who is calling, for the rate limit: `key:<key>` or `addr:<address>` (set by the auth middleware). */
    client: string;
    /** A raw video upload written to a file by the upload middleware (its path). */
    upload?: string;
  };
};

/** The registry, or 503 `not_ready` while models are still loading. */
export function readyRegistry(deps: Deps): Registry {
  if (!deps.state.registry) {
    throw new ApiError("not_ready", "Cannot serve request: models are still loading", {
      retryAfterSeconds: 2,
    });
  }
  return deps.state.registry;
}
