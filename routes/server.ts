/**
 * The server process: reads the config, starts listening at once (liveness answers while models load), loads and
 * warms the models, then reports ready and logs the cold start (process start -> ready). On SIGTERM/SIGINT it
 * turns not-ready, stops accepting connections, lets in-flight requests finish within SHUTDOWN_GRACE_MS and exits
 * (Cloud Run and Knative send SIGKILL about 10 s after SIGTERM).
 */
import { type Config, loadConfig } from "../src/config.ts";
import { createLogger, type Logger } from "../src/logger.ts";
import { createMetrics, type Metrics } from "../src/metrics.ts";
import { loadRegistry } from "../src/registry.ts";
import { createFaceDetector, missingFaceModels } from "../src/faces/pipeline.ts";
import { Jobs } from "../src/jobs/jobs.ts";
import { createApp } from "./app.ts";
import type { ServerState } from "./context.ts";

/** A started server: its port, state and metrics, readiness and shutdown. */
export interface RunningServer {
  port: number;
  state: ServerState;
  metrics: Metrics;
  /** Resolves when models are loaded and warm (the server is ready). */
  ready: Promise<void>;
  /** Drains and stops: not ready, stop accepting, wait for in-flight requests (up to the grace period). */
  shutdown(): Promise<void>;
}

/**
 * Starts the server for a config; used by the CLI below, the integration tests and the benchmark. The face
 * detector is required: without it every normal request would fail, so startup fails instead of reporting ready.
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
  const jobs = new Jobs({
    dataDir: config.dataDir,
    ffmpeg: config.ffmpegPath,
    concurrency: config.jobConcurrency,
    timeoutMs: config.jobTimeoutMs,
    maxBatch: config.maxBatch,
    maxPixels: config.maxPixels,
    maxVideoSeconds: config.maxVideoSeconds,
    maxVideoSide: config.maxVideoSide,
    ttlHours: config.jobTtlHours,
    registry: () => state.registry,
    logger,
  });
  const app = createApp({ config, state, logger, metrics, jobs });
  const server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: ({ hostname, port }) => logger.info("listening", { hostname, port }),
  }, app.fetch);
  const ready = loadRegistry({
    modelDir: config.modelDir,
    executionProvider: config.executionProvider,
    intraOpThreads: config.intraOpThreads,
    maxBatch: config.maxBatch,
    maxDelayMs: config.maxDelayMs,
    maxQueue: config.maxQueue,
    imageConcurrency: config.imageConcurrency,
    defaultModel: config.defaultModel,
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
  let stopping: Promise<void> | undefined;
  return {
    port: server.addr.port,
    state,
    metrics,
    ready,
    shutdown() {
      stopping ??= (async () => {
        state.draining = true;
        const t0 = performance.now();
        logger.info("draining", { inFlight: state.inFlight });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise<"timeout">((r) =>
          timer = setTimeout(() => r("timeout"), config.shutdownGraceMs)
        );
        const outcome = await Promise.race([server.shutdown().then(() => "drained" as const), grace]);
        clearTimeout(timer);
        // Running jobs stop where they are (their frames so far are stored) and resume on the next start.
        await jobs.close();
        // Not awaiting a model load still in progress: the process is about to exit anyway.
        if (outcome === "drained") await state.registry?.close();
        logger.info("stopped", { outcome, ms: Math.round(performance.now() - t0), inFlight: state.inFlight });
      })();
      return stopping;
    },
  };
}

if (import.meta.main) {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    Deno.exit(2);
  }
  const missing = missingFaceModels(config.modelDir);
  if (missing.length) {
    console.error(
      `Cannot start: the face models are missing from MODEL_DIR "${config.modelDir}" (${
        missing.join(", ")
      }); ` +
        `build them with \`deno task models --out ${config.modelDir}\``,
    );
    Deno.exit(2);
  }
  const logger = createLogger({ level: config.logLevel });
  const running = startServer(config, { logger });
  running.ready.catch((err) => {
    logger.error("startup failed", { error: (err as Error).message });
    Deno.exit(1);
  });
  const stop = async (signal: string) => {
    logger.info("signal", { signal });
    await running.shutdown();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
}
