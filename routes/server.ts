/**
 * The server process: reads the config, starts listening at once (liveness answers while models load), loads and
 * warms the models, then reports ready and logs the cold start (process start -> ready). On SIGTERM/SIGINT it
 * turns not-ready, stops accepting connections, lets in-flight requests finish within SHUTDOWN_GRACE_MS, answers
 * any still running then with a complete 503, and exits with a code saying which happened (`EXIT_CODES`; Cloud
 * Run and Knative send SIGKILL about 10 s after SIGTERM). Connections go through routes/http_server.ts.
 */
import { type Config, loadConfig } from "../src/config.ts";
import { createLogger, type Logger } from "../src/logger.ts";
import { createMetrics, type Metrics } from "../src/metrics.ts";
import { loadRegistry, registryOptionsFrom } from "../src/registry.ts";
import { createFaceDetector, missingFaceModels } from "../src/faces/pipeline.ts";
import { join } from "node:path";
import { Jobs } from "../src/jobs/jobs.ts";
import type { JobBackend } from "../src/jobs/store.ts";
import { PgJobStore } from "../src/jobs/store_pg.ts";
import { jobView } from "./jobs.handlers.ts";
import { connectionCap, readFdLimit } from "../src/fd_limit.ts";
import { keepOtherThreadsLow } from "../src/thread_priority.ts";
import { createApp } from "./app.ts";
import { type DrainResult, startHttpServer } from "./http_server.ts";
import type { ServerState } from "./context.ts";

/** A started server: its port, state and metrics, readiness and shutdown. */
export interface RunningServer {
  port: number;
  state: ServerState;
  metrics: Metrics;
  /** Resolves when models are loaded and warm (the server is ready). */
  ready: Promise<void>;
  /**
   * Drains and stops: not ready at once, stop accepting, let requests in flight finish within the grace period,
   * answer those still running then with 503 (see routes/http_server.ts). Resolves with how it ended.
   */
  shutdown(): Promise<DrainResult>;
}

/**
 * Starts the server for a config; used by the CLI below, the integration tests and the benchmark. The port is
 * bound when it returns. The face detector is required: without it every normal request would fail, so startup
 * fails instead of reporting ready.
 */
export function startServer(
  config: Readonly<Config>,
  { logger = createLogger({ level: config.logLevel }), startedAt = 0 }: {
    logger?: Logger;
    startedAt?: number;
  } = {},
): RunningServer {
  const metrics = createMetrics();
  const state: ServerState = { draining: false, inFlight: 0 };
  const webhookRefused = metrics.counter(
    "fer_webhook_refused_total",
    "Job webhook deliveries refused because their host resolved to a loopback, private or other internal address",
  );
  // DATABASE_URL: the jobs live in PostgreSQL, shared with the other replicas (src/jobs/store_pg.ts).
  const store = config.databaseUrl
    ? new PgJobStore({
      url: config.databaseUrl,
      uploadsDir: join(config.dataDir, "uploads"),
      onError: (err) => logger.warn("database connection lost", { error: err.message }),
    })
    : undefined;
  const jobs = new Jobs<JobBackend>({
    dataDir: config.dataDir,
    ...(store ? { store } : {}),
    leaseMs: config.leaseMs,
    ffmpeg: config.ffmpegPath,
    concurrency: config.jobConcurrency,
    timeoutMs: config.jobTimeoutMs,
    maxBatch: config.maxBatch,
    maxPixels: config.maxPixels,
    maxVideoSeconds: config.maxVideoSeconds,
    maxVideoSide: config.maxVideoSide,
    ttlHours: config.jobTtlHours,
    webhooks: {
      secret: config.webhookSecret,
      attempts: config.webhookAttempts,
      backoffMs: config.webhookBackoffMs,
      timeoutMs: config.webhookTimeoutMs,
      allowedCidrs: config.webhookAllowedCidrs,
      onRefused: () => webhookRefused(),
    },
    view: jobView,
    registry: () => state.registry,
    logger,
  });
  const app = createApp({ config, state, logger, metrics, jobs });
  const fdLimit = readFdLimit();
  const maxConnections = connectionCap(config.maxConnections, fdLimit);
  const connectionEvents = metrics.counter(
    "fer_connection_events_total",
    "Connections closed or refused by policy",
  );
  const server = startHttpServer((req, info) => app.fetch(req, info), {
    port: config.port,
    hostname: config.host,
    headersTimeoutMs: config.headersTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    maxConnections,
    onEvent: (event, detail) => {
      connectionEvents({ event });
      if (event === "refused") logger.warn("connection refused", { detail, maxConnections });
      else logger.debug("connection closed", { event, detail });
    },
  });
  metrics.gauge("fer_open_connections", "Open client connections", () => server.connections);
  logger.info("listening", {
    hostname: config.host,
    port: server.port,
    maxConnections,
    openFileLimit: fdLimit ? { soft: fdLimit.soft, hard: fdLimit.hard } : null,
  });
  const ready = loadRegistry({
    modelDir: config.modelDir,
    ...registryOptionsFrom(config),
    logger,
    metrics,
    createFaces: (o) => createFaceDetector(o),
  }).then((registry) => {
    state.registry = registry;
    // Jobs (new and those a previous process left running) start once the models can serve them.
    jobs.start();
    const coldStartMs = Math.round(performance.now() - startedAt);
    metrics.gauge("fer_cold_start_seconds", "Process start to ready")(coldStartMs / 1000);
    logger.info("ready", {
      coldStartMs,
      defaultModel: registry.defaultId,
      models: [...registry.models.keys()],
      faces: !!registry.faces,
      provider: [...registry.models.values()][0]?.provider,
    });
  });
  let stopping: Promise<DrainResult> | undefined;
  return {
    port: server.port,
    state,
    metrics,
    ready,
    shutdown() {
      stopping ??= (async () => {
        state.draining = true;
        const t0 = performance.now();
        logger.info("draining", { inFlight: state.inFlight, connections: server.connections });
        const result = await server.drain(config.shutdownGraceMs);
        // Running jobs stop where they are (their frames so far are stored) and resume on the next start.
        await jobs.close();
        // Not awaiting a model load still in progress: the process is about to exit anyway.
        if (result.outcome === "drained") await state.registry?.close();
        logger.info("stopped", {
          outcome: result.outcome,
          cut: result.cut,
          ms: Math.round(performance.now() - t0),
          inFlight: state.inFlight,
        });
        return result;
      })();
      return stopping;
    },
  };
}

/** Exit codes of the server process (documented in the README's Reliability section). */
export const EXIT_CODES = {
  /** SIGTERM/SIGINT: every request in flight completed. */
  drained: 0,
  /**
   * Refused to start: invalid configuration, a missing model file (before listening), or a model that does not
   * load or warm up, or a duplicate model id (before ready). The message names the variable or the file(s).
   */
  badStart: 2,
  /** SIGTERM/SIGINT: the grace period ended; requests still running were answered 503. */
  cut: 3,
} as const;

if (import.meta.main) {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    Deno.exit(EXIT_CODES.badStart);
  }
  const missing = missingFaceModels(config.modelDir);
  if (missing.length) {
    console.error(
      `Cannot start: the face models are missing from MODEL_DIR "${config.modelDir}" (${
        missing.join(", ")
      }); ` +
        `build them with \`deno task models --out ${config.modelDir}\``,
    );
    Deno.exit(EXIT_CODES.badStart);
  }
  const logger = createLogger({ level: config.logLevel });
  const running = startServer(config, { logger });
  // COMPUTE_NICE is a property of the server process, so only the process entry sets it (a server started
  // in-process, by tests or an embedding program, leaves its host's threads alone). After the sessions exist
  // (their pools are started); the scan repeats for threads started later.
  running.ready.then(() =>
    keepOtherThreadsLow({
      nice: config.computeNice,
      onError: (err) => logger.warn("cannot lower thread priority", { error: err.message }),
    })
  ).catch(() => {}); // a failed start is reported below
  running.ready.catch((err) => {
    // A model that cannot load or warm up stops the start: the platform sees the exit, not a ready pod that
    // answers 500 to every request naming that model.
    logger.error("startup failed", { error: (err as Error).message });
    console.error((err as Error).message);
    Deno.exit(EXIT_CODES.badStart);
  });
  const stop = async (signal: string) => {
    logger.info("signal", { signal });
    const { outcome } = await running.shutdown();
    Deno.exit(EXIT_CODES[outcome]);
  };
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
}
