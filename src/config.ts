/**
 * The service configuration: read once from environment variables, validated with zod, frozen. This is the only
 * reader of `Deno.env` in serving code. `CONFIG` is the one table of variables (env name -> config key, schema,
 * default, description): the parser, the `Config` type, and the README and deployment checks all derive from it.
 */
import { z } from "zod";
import { EXECUTION_PROVIDERS } from "./providers.ts";
import { type Cidr, parseCidr } from "./cidr.ts";

function int(name: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {}) {
  return z.string().trim().regex(/^\d+$/, `${name} must be a whole number`).transform(Number)
    .pipe(z.number().int().min(min, `${name} must be >= ${min}`).max(max, `${name} must be <= ${max}`));
}

function list() {
  return z.string().transform((s): readonly string[] =>
    Object.freeze(s.split(",").map((x) => x.trim()).filter((x) => x.length > 0))
  );
}

function cidrs(name: string) {
  return list().transform((items, ctx): readonly Cidr[] => {
    const ranges: Cidr[] = [];
    for (const item of items) {
      try {
        ranges.push(parseCidr(item));
      } catch {
        ctx.addIssue({ code: "custom", message: `${name} has "${item}", not an address or CIDR range` });
      }
    }
    return Object.freeze(ranges);
  });
}

/** One environment variable: its config key, parser, default (the string used when unset) and description. */
interface Setting<K extends string, S extends z.ZodType> {
  key: K;
  schema: S;
  default: string;
  description: string;
}

function setting<K extends string, S extends z.ZodType>(
  key: K,
  schema: S,
  defaultValue: string,
  description: string,
): Setting<K, S> {
  return { key, schema, default: defaultValue, description };
}

/** Every environment variable the server reads, in README order: env name -> config key, schema, default. */
export const CONFIG = {
  PORT: setting(
    "port",
    int("PORT", { max: 65535 }),
    "8080",
    "TCP port to listen on (Cloud Run / Knative set it).",
  ),
  HOST: setting("host", z.string().trim().min(1), "0.0.0.0", "Interface to bind."),
  MODEL_DIR: setting(
    "modelDir",
    z.string().trim().min(1),
    "artifacts/models",
    "Folder with `*.onnx` + `*.manifest.json` artifacts.",
  ),
  DEFAULT_MODEL: setting(
    "defaultModel",
    z.string().trim().transform((s) => s || undefined),
    "",
    "Expression model id used when a request names none. Empty: a trained `scan-cci` if present, else `ensemble-expression-flip`, else `faceapi-expression`.",
  ),
  EXECUTION_PROVIDER: setting(
    "executionProvider",
    z.enum(EXECUTION_PROVIDERS),
    "cpu",
    "`cpu` or `cuda` (falls back to `cpu` with a logged reason when CUDA cannot start).",
  ),
  INTRA_OP_THREADS: setting(
    "intraOpThreads",
    int("INTRA_OP_THREADS", { max: 256 }),
    "0",
    "onnxruntime intra-op threads per session (0 = onnxruntime's default).",
  ),
  THREAD_SPINNING: setting(
    "threadSpinning",
    z.enum(["on", "off"], { message: "THREAD_SPINNING must be on or off" }).transform((v) => v === "on"),
    "off",
    "`on`: onnxruntime's threads spin waiting for work between runs (its default); `off`: they sleep, leaving the cores to the other sessions and the event loop (measured: 30% more photos/s under 4 clients on 2 cores).",
  ),
  MEMORY_PATTERN: setting(
    "memoryPattern",
    z.enum(["on", "off"], { message: "MEMORY_PATTERN must be on or off" }).transform((v) => v === "on"),
    "off",
    "`on`: onnxruntime plans each session's buffers per input shape and keeps every plan (its default); `off`: it allocates as it runs. The batch shapes change with the faces in each image and frame, so `on` keeps growing: measured on a 10-minute 720p job (3,000 frames, `tiny`), RSS per quarter 1,229 -> 1,347 MiB `on` against 1,010 -> 1,027 MiB `off`, and the peak during 200-frame jobs 1,785 against 1,354 MiB, with the same frames/s.",
  ),
  INFERENCE_WORKER: setting(
    "inferenceWorker",
    z.enum(["on", "off"], { message: "INFERENCE_WORKER must be on or off" }).transform((v) => v === "on"),
    "on",
    "`on`: every model session lives in one `Worker` (onnxruntime-node runs a model synchronously on its caller's thread, so on the main thread each run blocks the event loop and `/healthz` for its duration, ~95 ms for SSD at 512 px); the worker ends with the last session. Measured under the issue's full load (24 MB body of 2.4 M keys, 32 photo clients, two 256-frame videos) on 2 cores: `/healthz` p99 46-52 ms with `COMPUTE_NICE=10` (90 ms at 0) against 9.1-15.1 s `off`, same photos answered. `off`: sessions on the main thread.",
  ),
  COMPUTE_NICE: setting(
    "computeNice",
    int("COMPUTE_NICE", { max: 19 }),
    "10",
    "Nice value (Linux) for every server thread but the main one (onnxruntime's pools, libvips, Deno's blocking pool), so the event loop runs first when it wakes; 0 = off. Measured under the full load above with the worker: `/healthz` p99 46-52 ms at 10 against 90 ms at 0, same photos answered; niced threads also yield to other processes outside a container's own cgroup.",
  ),
  MAX_BATCH: setting(
    "maxBatch",
    int("MAX_BATCH", { min: 1, max: 1024 }),
    "32",
    "Largest batch the micro-batcher sends to a model.",
  ),
  MAX_DELAY_MS: setting(
    "maxDelayMs",
    int("MAX_DELAY_MS", { max: 1000 }),
    "2",
    "How long the micro-batcher waits for more faces before running a partial batch.",
  ),
  MAX_QUEUE: setting(
    "maxQueue",
    int("MAX_QUEUE", { min: 1 }),
    "2048",
    "Faces waiting per model before requests are refused with 503 `overloaded`.",
  ),
  IMAGE_CONCURRENCY: setting(
    "imageConcurrency",
    int("IMAGE_CONCURRENCY", { max: 1024 }),
    "0",
    "Images decoded and face-detected at once across all requests (0 = one per CPU core, at least 2); others wait.",
  ),
  REQUEST_TIMEOUT_MS: setting(
    "requestTimeoutMs",
    int("REQUEST_TIMEOUT_MS", { min: 1 }),
    "30000",
    "Deadline of a `/v1/expressions` request (after its body is read); past it the request answers 504 `deadline_exceeded`.",
  ),
  VIDEO_TIMEOUT_MS: setting(
    "videoTimeoutMs",
    int("VIDEO_TIMEOUT_MS", { min: 1 }),
    "120000",
    "Deadline of a `/v1/videos/frames` request (after its body is read), else 504. On 2 CPU cores 256 frames take about 30-60 s.",
  ),
  BODY_TIMEOUT_MS: setting(
    "bodyTimeoutMs",
    int("BODY_TIMEOUT_MS", { min: 1 }),
    "30000",
    "Time allowed to receive a whole request body; a client that stalls past it gets 408 `request_timeout` and the connection is closed.",
  ),
  MAX_BODY_BYTES: setting(
    "maxBodyBytes",
    int("MAX_BODY_BYTES", { min: 1024 }),
    "26214400",
    "Largest request body in bytes (counted on the stream), else 413.",
  ),
  MAX_JSON_BODY_BYTES: setting(
    "maxJsonBodyBytes",
    int("MAX_JSON_BODY_BYTES"),
    "0",
    "Largest JSON request body in bytes, at most `MAX_BODY_BYTES`, else 413 (send large images as multipart or a raw body). 0 = a third of `MAX_BODY_BYTES` (8 MiB by default): after base64's 4/3 expansion it carries a 6.25 MiB image, and parsing it stays short (README, Reliability).",
  ),
  HEADERS_TIMEOUT_MS: setting(
    "headersTimeoutMs",
    int("HEADERS_TIMEOUT_MS", { min: 1 }),
    "10000",
    "Time a new connection has to send a request's headers; a slow or silent one is closed.",
  ),
  KEEP_ALIVE_TIMEOUT_MS: setting(
    "keepAliveTimeoutMs",
    int("KEEP_ALIVE_TIMEOUT_MS", { min: 1 }),
    "5000",
    "How long an idle kept-alive connection may wait for its next request before it is closed.",
  ),
  MAX_CONNECTIONS: setting(
    "maxConnections",
    int("MAX_CONNECTIONS", { min: 1 }),
    "1000",
    "Most open client connections (lowered to the open-file limit minus 64, logged at start); past it a new connection gets 503 `overloaded` and is closed.",
  ),
  MAX_PIXELS: setting(
    "maxPixels",
    int("MAX_PIXELS", { min: 1 }),
    "40000000",
    "Largest decoded image (width x height), else 413.",
  ),
  MAX_FRAMES: setting(
    "maxFrames",
    int("MAX_FRAMES", { min: 1, max: 10000 }),
    "256",
    "Most frames in one `/v1/videos/frames` request, else 413.",
  ),
  FFMPEG_PATH: setting(
    "ffmpegPath",
    z.string().trim().min(1),
    "ffmpeg",
    "The ffmpeg binary for video jobs (`ffprobe` is taken from the same folder). Missing: `POST /v1/videos` answers 503 `ffmpeg_unavailable`.",
  ),
  DATA_DIR: setting(
    "dataDir",
    z.string().trim().min(1),
    "artifacts/data",
    "Folder of the video job store (`jobs.sqlite`) and uploads in progress; created when missing.",
  ),
  JOB_CONCURRENCY: setting(
    "jobConcurrency",
    int("JOB_CONCURRENCY", { min: 1, max: 64 }),
    "1",
    "Video jobs run at once by this instance; more wait queued.",
  ),
  JOB_TIMEOUT_MS: setting(
    "jobTimeoutMs",
    int("JOB_TIMEOUT_MS", { min: 1 }),
    "3600000",
    "Longest run of one video job; past it ffmpeg is killed and the job fails with `deadline_exceeded`.",
  ),
  JOB_TTL_HOURS: setting(
    "jobTtlHours",
    int("JOB_TTL_HOURS"),
    "24",
    "Finished jobs and their results are deleted this many hours after they end (checked every 10 minutes); 0 = kept.",
  ),
  DATABASE_URL: setting(
    "databaseUrl",
    z.string().trim().refine((s) => s === "" || /^postgres(ql)?:\/\//.test(s), {
      message: "DATABASE_URL must be empty or a postgres:// URL",
    }),
    "",
    "`postgres://user:password@host:port/db`: video jobs, their queue, uploads and results live in PostgreSQL, shared by every replica with the same URL (see Scale-out on PostgreSQL). Empty: the embedded SQLite store in DATA_DIR.",
  ),
  LEASE_MS: setting(
    "leaseMs",
    int("LEASE_MS", { min: 300, max: 3600000 }),
    "30000",
    "With DATABASE_URL: how long a replica's claim on a running job lasts without a heartbeat (renewed every third of it); past it another replica takes the job over after its last stored frame.",
  ),
  MAX_VIDEO_BYTES: setting(
    "maxVideoBytes",
    int("MAX_VIDEO_BYTES", { min: 1024 }),
    "268435456",
    "Largest video upload in bytes, else 413.",
  ),
  MAX_VIDEO_SECONDS: setting(
    "maxVideoSeconds",
    int("MAX_VIDEO_SECONDS", { min: 1 }),
    "3600",
    "Longest video (or `start`-`end` range) a job accepts, in seconds, else 413 `video_too_long`.",
  ),
  MAX_VIDEO_SIDE: setting(
    "maxVideoSide",
    int("MAX_VIDEO_SIDE", { min: 16, max: 8192 }),
    "1280",
    "Video frames are decoded scaled down so their longer side is at most this many pixels.",
  ),
  WEBHOOK_SECRET: setting(
    "webhookSecret",
    z.string().trim(),
    "",
    "Key of the HMAC-SHA256 signature of job webhooks (`X-Scan-Fer-Signature: sha256=<hex>` over the raw body). Empty: uploads with `webhook` are refused with 400.",
  ),
  WEBHOOK_ATTEMPTS: setting(
    "webhookAttempts",
    int("WEBHOOK_ATTEMPTS", { min: 1, max: 20 }),
    "5",
    "Most delivery attempts of one job webhook (a non-2xx answer or a network error is retried).",
  ),
  WEBHOOK_BACKOFF_MS: setting(
    "webhookBackoffMs",
    int("WEBHOOK_BACKOFF_MS", { max: 3600000 }),
    "1000",
    "Delay before the second webhook attempt; each later one waits twice as long as the one before.",
  ),
  WEBHOOK_TIMEOUT_MS: setting(
    "webhookTimeoutMs",
    int("WEBHOOK_TIMEOUT_MS", { min: 1 }),
    "10000",
    "Longest wait for a webhook receiver's answer; past it the attempt counts as a network error.",
  ),
  WEBHOOK_ALLOWED_CIDRS: setting(
    "webhookAllowedCidrs",
    cidrs("WEBHOOK_ALLOWED_CIDRS"),
    "",
    "Comma-separated CIDRs (or addresses) a job webhook may call although they are loopback, private, link-local, CGNAT, unique-local or multicast (e.g. `10.20.0.0/16` for an internal receiver). Empty: webhooks reach public addresses only.",
  ),
  API_KEYS: setting(
    "apiKeys",
    list(),
    "",
    "Comma-separated keys accepted in `Authorization: Bearer <key>` or `X-API-Key`. Empty: no authentication.",
  ),
  RATE_LIMIT_PER_MIN: setting(
    "rateLimitPerMin",
    int("RATE_LIMIT_PER_MIN"),
    "0",
    "Inference requests per minute per API key (or client address without keys); 0 = unlimited.",
  ),
  TRUSTED_PROXIES: setting(
    "trustedProxies",
    cidrs("TRUSTED_PROXIES"),
    "",
    "Comma-separated CIDRs (or addresses) of proxies whose `X-Forwarded-For` names the client for the rate limit (Knative's queue-proxy: `127.0.0.1/32`). Empty: the socket address is the client.",
  ),
  CORS_ORIGINS: setting(
    "corsOrigins",
    list(),
    "",
    "Comma-separated allowed browser origins, `*` for any. Empty: CORS disabled.",
  ),
  LOG_LEVEL: setting(
    "logLevel",
    z.enum(["debug", "info", "warn", "error"]),
    "info",
    "`debug`, `info`, `warn` or `error` (JSON lines on stdout).",
  ),
  SHUTDOWN_GRACE_MS: setting(
    "shutdownGraceMs",
    int("SHUTDOWN_GRACE_MS", { max: 60000 }),
    "8000",
    "On SIGTERM, how long in-flight requests may finish before the process exits.",
  ),
};

type Settings = typeof CONFIG;

/** An environment variable name the server reads. */
export type EnvName = keyof Settings;

/** One documented environment variable, as the README table and the deployment checks list it. */
export interface EnvVar {
  name: EnvName;
  default: string;
  description: string;
}

/** Every environment variable with its default and description, in README order (a view of `CONFIG`). */
export const ENV_VARS: readonly EnvVar[] = Object.freeze(
  (Object.keys(CONFIG) as EnvName[]).map((name) => ({
    name,
    default: CONFIG[name].default,
    description: CONFIG[name].description,
  })),
);

const ConfigSchema = z.object(
  Object.fromEntries(ENV_VARS.map((v) => [v.name, CONFIG[v.name].schema])) as {
    [N in EnvName]: Settings[N]["schema"];
  },
);

/** The validated, frozen configuration: each `CONFIG` entry's key with its parsed value. */
export type Config = { [N in EnvName as Settings[N]["key"]]: z.output<Settings[N]["schema"]> };

/**
 * Builds the config from an environment (a plain record; defaults to `Deno.env`). Unset or empty variables take
 * their documented default. Throws one error naming every invalid variable and its value, e.g.
 * `Cannot start: invalid configuration: MAX_BATCH="zero" (MAX_BATCH must be a whole number)`.
 */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Readonly<Config> {
  const raw: Record<string, string> = {};
  for (const v of ENV_VARS) {
    const value = env[v.name];
    raw[v.name] = value === undefined || value.trim() === "" ? v.default : value;
  }
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => {
      const name = String(i.path[0]);
      return `${name}=${JSON.stringify(raw[name])} (${i.message})`;
    });
    throw new Error(`Cannot start: invalid configuration: ${problems.join("; ")}`);
  }
  const e = r.data;
  if (e.MAX_QUEUE < e.MAX_BATCH) {
    // A request's faces are queued in chunks of MAX_BATCH; a smaller queue could never admit a full chunk.
    throw new Error(
      `Cannot start: invalid configuration: MAX_QUEUE=${e.MAX_QUEUE} is below MAX_BATCH=${e.MAX_BATCH} (MAX_QUEUE must be >= MAX_BATCH)`,
    );
  }
  if (e.MAX_JSON_BODY_BYTES > e.MAX_BODY_BYTES) {
    // JSON bodies are read under MAX_BODY_BYTES first: a higher JSON limit could never apply.
    throw new Error(
      `Cannot start: invalid configuration: MAX_JSON_BODY_BYTES=${e.MAX_JSON_BODY_BYTES} is above MAX_BODY_BYTES=${e.MAX_BODY_BYTES} (MAX_JSON_BODY_BYTES must be <= MAX_BODY_BYTES)`,
    );
  }
  const config: Record<string, unknown> = {};
  for (const v of ENV_VARS) config[CONFIG[v.name].key] = e[v.name];
  // 0: derived from MAX_BODY_BYTES (a JSON image is base64, 4/3 of its bytes; see the CONFIG row).
  if (e.MAX_JSON_BODY_BYTES === 0) config.maxJsonBodyBytes = Math.floor(e.MAX_BODY_BYTES / 3);
  return Object.freeze(config as Config);
}
