/**
 * The service configuration: read once from environment variables, validated with zod, frozen. This is the only
 * reader of `Deno.env` in serving code. `ENV_VARS` lists every name with its default and description as data, so
 * the README table and the deployment manifests are generated or checked from one place.
 */
import { z } from "zod";

/** One documented environment variable. `default` is the string the service uses when it is unset. */
export interface EnvVar {
  name: string;
  default: string;
  description: string;
}

/** Every environment variable the server reads, in README order. */
export const ENV_VARS: readonly EnvVar[] = Object.freeze([
  { name: "PORT", default: "8080", description: "TCP port to listen on (Cloud Run / Knative set it)." },
  { name: "HOST", default: "0.0.0.0", description: "Interface to bind." },
  { name: "MODEL_DIR", default: "model", description: "Folder with `*.onnx` + `*.manifest.json` artifacts." },
  {
    name: "DEFAULT_MODEL",
    default: "",
    description:
      "Expression model id used when a request names none. Empty: a trained `scan-cci` if present, else `faceapi-expression`.",
  },
  {
    name: "EXECUTION_PROVIDER",
    default: "cpu",
    description: "`cpu` or `cuda` (falls back to `cpu` with a logged reason when CUDA cannot start).",
  },
  {
    name: "INTRA_OP_THREADS",
    default: "0",
    description: "onnxruntime intra-op threads per session (0 = onnxruntime's default).",
  },
  { name: "MAX_BATCH", default: "32", description: "Largest batch the micro-batcher sends to a model." },
  {
    name: "MAX_DELAY_MS",
    default: "2",
    description: "How long the micro-batcher waits for more faces before running a partial batch.",
  },
  {
    name: "MAX_QUEUE",
    default: "2048",
    description: "Faces waiting per model before requests are refused with 503 `overloaded`.",
  },
  {
    name: "IMAGE_CONCURRENCY",
    default: "0",
    description:
      "Images decoded and face-detected at once across all requests (0 = one per CPU core, at least 2); others wait.",
  },
  {
    name: "REQUEST_TIMEOUT_MS",
    default: "30000",
    description:
      "Deadline of a `/v1/expressions` request (after its body is read); past it the request answers 504 `deadline_exceeded`.",
  },
  {
    name: "VIDEO_TIMEOUT_MS",
    default: "120000",
    description:
      "Deadline of a `/v1/videos/frames` request (after its body is read), else 504. On 2 CPU cores 256 frames take about 30-60 s.",
  },
  {
    name: "BODY_TIMEOUT_MS",
    default: "30000",
    description:
      "Time allowed to receive a whole request body; a client that stalls past it gets 408 `request_timeout` and the connection is closed.",
  },
  {
    name: "MAX_BODY_BYTES",
    default: "26214400",
    description: "Largest request body in bytes (counted on the stream), else 413.",
  },
  {
    name: "MAX_PIXELS",
    default: "40000000",
    description: "Largest decoded image (width x height), else 413.",
  },
  {
    name: "MAX_FRAMES",
    default: "256",
    description: "Most frames in one `/v1/videos/frames` request, else 413.",
  },
  {
    name: "API_KEYS",
    default: "",
    description:
      "Comma-separated keys accepted in `Authorization: Bearer <key>` or `X-API-Key`. Empty: no authentication.",
  },
  {
    name: "RATE_LIMIT_PER_MIN",
    default: "0",
    description: "Inference requests per minute per API key (or client address without keys); 0 = unlimited.",
  },
  {
    name: "CORS_ORIGINS",
    default: "",
    description: "Comma-separated allowed browser origins, `*` for any. Empty: CORS disabled.",
  },
  {
    name: "LOG_LEVEL",
    default: "info",
    description: "`debug`, `info`, `warn` or `error` (JSON lines on stdout).",
  },
  {
    name: "SHUTDOWN_GRACE_MS",
    default: "8000",
    description: "On SIGTERM, how long in-flight requests may finish before the process exits.",
  },
]);

function int(name: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {}) {
  return z.string().trim().regex(/^\d+$/, `${name} must be a whole number`).transform(Number)
    .pipe(z.number().int().min(min, `${name} must be >= ${min}`).max(max, `${name} must be <= ${max}`));
}

function list() {
  return z.string().transform((s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0));
}

const ConfigSchema = z.object({
  PORT: int("PORT", { max: 65535 }),
  HOST: z.string().trim().min(1),
  MODEL_DIR: z.string().trim().min(1),
  DEFAULT_MODEL: z.string().trim(),
  EXECUTION_PROVIDER: z.enum(["cpu", "cuda"]),
  INTRA_OP_THREADS: int("INTRA_OP_THREADS", { max: 256 }),
  MAX_BATCH: int("MAX_BATCH", { min: 1, max: 1024 }),
  MAX_DELAY_MS: int("MAX_DELAY_MS", { max: 1000 }),
  MAX_QUEUE: int("MAX_QUEUE", { min: 1 }),
  IMAGE_CONCURRENCY: int("IMAGE_CONCURRENCY", { max: 1024 }),
  REQUEST_TIMEOUT_MS: int("REQUEST_TIMEOUT_MS", { min: 1 }),
  VIDEO_TIMEOUT_MS: int("VIDEO_TIMEOUT_MS", { min: 1 }),
  BODY_TIMEOUT_MS: int("BODY_TIMEOUT_MS", { min: 1 }),
  MAX_BODY_BYTES: int("MAX_BODY_BYTES", { min: 1024 }),
  MAX_PIXELS: int("MAX_PIXELS", { min: 1 }),
  MAX_FRAMES: int("MAX_FRAMES", { min: 1, max: 10000 }),
  API_KEYS: list(),
  RATE_LIMIT_PER_MIN: int("RATE_LIMIT_PER_MIN"),
  CORS_ORIGINS: list(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]),
  SHUTDOWN_GRACE_MS: int("SHUTDOWN_GRACE_MS", { max: 60000 }),
});

/** The validated, frozen configuration (camelCase view of `ENV_VARS`). */
export interface Config {
  port: number;
  host: string;
  modelDir: string;
  defaultModel?: string;
  executionProvider: "cpu" | "cuda";
  intraOpThreads: number;
  maxBatch: number;
  maxDelayMs: number;
  maxQueue: number;
  imageConcurrency: number;
  requestTimeoutMs: number;
  videoTimeoutMs: number;
  bodyTimeoutMs: number;
  maxBodyBytes: number;
  maxPixels: number;
  maxFrames: number;
  apiKeys: readonly string[];
  rateLimitPerMin: number;
  corsOrigins: readonly string[];
  logLevel: "debug" | "info" | "warn" | "error";
  shutdownGraceMs: number;
}

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
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    modelDir: e.MODEL_DIR,
    defaultModel: e.DEFAULT_MODEL || undefined,
    executionProvider: e.EXECUTION_PROVIDER,
    intraOpThreads: e.INTRA_OP_THREADS,
    maxBatch: e.MAX_BATCH,
    maxDelayMs: e.MAX_DELAY_MS,
    maxQueue: e.MAX_QUEUE,
    imageConcurrency: e.IMAGE_CONCURRENCY,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    videoTimeoutMs: e.VIDEO_TIMEOUT_MS,
    bodyTimeoutMs: e.BODY_TIMEOUT_MS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxPixels: e.MAX_PIXELS,
    maxFrames: e.MAX_FRAMES,
    apiKeys: Object.freeze([...e.API_KEYS]),
    rateLimitPerMin: e.RATE_LIMIT_PER_MIN,
    corsOrigins: Object.freeze([...e.CORS_ORIGINS]),
    logLevel: e.LOG_LEVEL,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
  });
}
