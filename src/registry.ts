/**
 * The model registry: every expression model whose manifest sits in `MODEL_DIR` is opened (one onnxruntime
 * session each), given its own micro-batcher and warmed up. The default model is a TRAINED SCAN+CCI when one is
 * present, otherwise the flip-averaged ensemble of the pretrained nets (else face-api's baseline); untrained
 * (seeded random) models are served only when
 * asked for by id and say `trained: false` everywhere.
 */
import type { Config } from "./config.ts";
import { join } from "node:path";
import { ApiError } from "./errors.ts";
import { type ModelSession, openModel, readManifest } from "./session.ts";
import { createBatcher } from "./batcher.ts";
import { createSemaphore, type Semaphore } from "./semaphore.ts";
import type { ExpressionModel, FaceDetector, FaceOutput } from "./classify.ts";
import { servedScores } from "./temperature.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import type { Manifest, OutputSpec } from "../model/manifest.ts";
import type { ExecutionProvider } from "./providers.ts";

/** A served expression model with its session and runtime facts. */
export interface LoadedModel extends ExpressionModel {
  session: ModelSession;
  provider: string;
  fallbackReason?: string;
  ready: boolean;
}

/** The served models, the default, the face detector and the image slots. */
export interface Registry {
  models: ReadonlyMap<string, LoadedModel>;
  defaultId: string;
  /** Set when the default model is untrained (shown in `/v1/models`). */
  defaultWarning?: string;
  /** Face detection + crops; absent when the detector artifacts are missing (detect=false still works). */
  faces?: FaceDetector;
  /** Bounds concurrent decode + detection across requests. */
  imageSlots: Semaphore;
  /** The model for a request: `id` or the default. Unknown ids are a 400 naming the known ones. */
  resolve(id?: string): LoadedModel;
  close(): Promise<void>;
}

/** Where the models are and how to serve them; every field but `modelDir` has a default. */
export interface RegistryOptions {
  modelDir: string;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  /** onnxruntime threads spin between runs (its default); the server turns it off (`THREAD_SPINNING`). */
  allowSpinning?: boolean;
  /** onnxruntime keeps a buffer plan per input shape (its default); the server turns it off (`MEMORY_PATTERN`). */
  memoryPattern?: boolean;
  /** Open every session in the shared inference worker (src/session.ts; the server's `INFERENCE_WORKER`). */
  inferenceWorker?: boolean;
  maxBatch?: number;
  maxDelayMs?: number;
  maxQueue?: number;
  /** Images decoded + detected at once across all requests (0: one per CPU core, at least 2). */
  imageConcurrency?: number;
  defaultModel?: string;
  /**
   * Apply each manifest's calibration temperature (default true). Off only for the calibration tool, which fits
   * a new temperature on the model's own scores.
   */
  calibrated?: boolean;
  logger?: Logger;
  metrics?: Metrics;
  /** Builds the face pipeline from `modelDir`; returns undefined when its artifacts are missing. */
  createFaces?: (opts: {
    modelDir: string;
    executionProvider: ExecutionProvider;
    intraOpNumThreads?: number;
    allowSpinning?: boolean;
    memoryPattern?: boolean;
    worker?: boolean;
  }) => Promise<FaceDetector | undefined>;
}

/**
 * The registry options the service configuration decides (provider, threads, batching, default model), for
 * every entry point that serves from a `Config` (the server, `deno task annotate`), so a new setting is wired
 * once.
 */
export function registryOptionsFrom(
  config: Config,
): Omit<RegistryOptions, "modelDir" | "logger" | "metrics" | "createFaces"> {
  return {
    executionProvider: config.executionProvider,
    intraOpThreads: config.intraOpThreads,
    allowSpinning: config.threadSpinning,
    memoryPattern: config.memoryPattern,
    inferenceWorker: config.inferenceWorker,
    maxBatch: config.maxBatch,
    maxDelayMs: config.maxDelayMs,
    maxQueue: config.maxQueue,
    imageConcurrency: config.imageConcurrency,
    defaultModel: config.defaultModel,
  };
}

/** The architecture family: the manifest's `architecture.family`, else (older manifests) read from names. */
export function familyOf(m: Manifest): string {
  if (m.architecture.family) return m.architecture.family;
  return m.id.startsWith("scan-cci") || /scan/i.test(m.architecture.name) ? "scan-cci" : m.id;
}

function isScanCci(m: Manifest): boolean {
  return familyOf(m) === "scan-cci";
}

/** What an output holds: the manifest's `outputs[].kind`, else (older manifests) the name rule. */
export function kindOf(o: OutputSpec): NonNullable<OutputSpec["kind"]> {
  if (o.kind) return o.kind;
  // Manifests written before `kind` existed: SCAN+CCI names its outputs "logits" and "attention_map", face-api's
  // expression net "probabilities"; any other name containing "logit" was treated as logits too.
  if (o.name === "attention_map") return "attention";
  return o.name.includes("logit") ? "logits" : "probabilities";
}

/** The outputs a served model is run for: its scores (the first logits or probabilities) and its attention. */
export function servedOutputs(m: Manifest): { scores: OutputSpec; logits: boolean; attention?: OutputSpec } {
  const scores = m.outputs.find((o) => kindOf(o) === "logits") ??
    m.outputs.find((o) => kindOf(o) === "probabilities") ?? m.outputs[0];
  const attention = m.outputs.find((o) => kindOf(o) === "attention");
  return { scores, logits: kindOf(scores) === "logits", ...(attention ? { attention } : {}) };
}

/**
 * The default when no trained SCAN+CCI is present, best first: the flip-averaged ensemble of face-api's net and
 * the emotion net (FER2013 PublicTest 65.0% / macro-F1 0.620, and the issue's check on web portraits found the
 * mean of the two the most even across kinds of image), then the face-api baseline alone.
 */
export const PRETRAINED_DEFAULTS = ["ensemble-expression-flip", "faceapi-expression"] as const;

/** Picks the default: configured id, else trained SCAN+CCI, else PRETRAINED_DEFAULTS in order, else any trained one. */
export function chooseDefault(manifests: readonly Manifest[], configured?: string): string {
  if (configured) {
    if (!manifests.some((m) => m.id === configured)) {
      throw new Error(
        `Cannot start: DEFAULT_MODEL="${configured}" is not among the models (${
          manifests.map((m) => m.id).join(", ")
        })`,
      );
    }
    return configured;
  }
  const pretrained = PRETRAINED_DEFAULTS.map((id) => manifests.find((m) => m.id === id)).find((m) => m);
  const pick = manifests.find((m) => m.trained && isScanCci(m)) ?? pretrained ??
    manifests.find((m) => m.trained) ?? manifests[0];
  return pick.id;
}

function modelVersion(m: Manifest): string {
  return `${m.architecture.version}+${m.sha256.slice(0, 8)}`;
}

/**
 * Splits a batched run's outputs into one `FaceOutput` per item: softmax over logits, probabilities as is, both
 * at the manifest's calibration temperature when it has one and `calibrated` is on.
 */
function splitOutputs(
  m: Manifest,
  out: Record<string, { data: Float32Array; dims: number[] }>,
  n: number,
  calibrated: boolean,
): FaceOutput[] {
  const served = servedOutputs(m);
  const temperature = calibrated ? m.calibration?.temperature : undefined;
  const main = out[served.scores.name];
  const k = main.data.length / n;
  const att = served.attention ? out[served.attention.name] : undefined;
  const a = att ? att.data.length / n : 0;
  return Array.from({ length: n }, (_, i) => {
    const row = main.data.subarray(i * k, (i + 1) * k);
    return {
      scores: Float32Array.from(servedScores(row, served.logits, temperature)),
      attention: att ? att.data.slice(i * a, (i + 1) * a) : undefined,
    };
  });
}

function batchRunner(session: ModelSession, calibrated: boolean, metrics?: Metrics) {
  const m = session.manifest;
  const { width, height } = m.input.size;
  const per = 3 * width * height;
  const served = servedOutputs(m);
  const outputs = [served.scores.name, ...(served.attention ? [served.attention.name] : [])];
  const observe = metrics?.histogram(
    "fer_inference_seconds",
    "Model run time per batch",
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  return async (items: Float32Array[]): Promise<FaceOutput[]> => {
    const data = new Float32Array(items.length * per);
    items.forEach((t, i) => {
      if (t.length !== per) {
        throw new Error(`Cannot run model: tensor has ${t.length} values, expected ${per}`);
      }
      data.set(t, i * per);
    });
    const t0 = performance.now();
    const dims = m.input.layout === "NHWC"
      ? [items.length, height, width, 3]
      : [items.length, 3, height, width];
    const out = await session.run({ [m.input.name]: { data, dims } }, outputs);
    observe?.((performance.now() - t0) / 1000, { model: m.id });
    return splitOutputs(m, out, items.length, calibrated);
  };
}

/**
 * Opens every expression model in `modelDir`, warms each up with one run, and builds the face pipeline. Throws
 * (at startup) when no expression model is present or DEFAULT_MODEL names a missing one.
 */
export async function loadRegistry(
  {
    modelDir,
    executionProvider = "cpu",
    intraOpThreads,
    allowSpinning,
    memoryPattern,
    inferenceWorker = false,
    maxBatch = 32,
    maxDelayMs = 2,
    maxQueue = 2048,
    imageConcurrency = 0,
    defaultModel,
    calibrated = true,
    logger,
    metrics,
    createFaces,
  }: RegistryOptions,
): Promise<Registry> {
  const manifests: { path: string; manifest: Manifest }[] = [];
  const seen = new Map<string, string>();
  let entries: Deno.DirEntry[] = [];
  try {
    entries = [...Deno.readDirSync(modelDir)];
  } catch (err) {
    throw new Error(`Cannot start: cannot read MODEL_DIR "${modelDir}": ${(err as Error).message}`);
  }
  for (
    const e of entries.filter((e) => e.name.endsWith(".manifest.json")).sort((a, b) =>
      a.name < b.name ? -1 : 1
    )
  ) {
    const path = join(modelDir, e.name);
    const manifest = await readManifest(path);
    // Two files claiming one id would make `model=<id>` pick one silently: refuse, naming both.
    const twin = seen.get(manifest.id);
    if (twin) {
      throw new Error(
        `Cannot start: model id "${manifest.id}" is declared by both ${twin} and ${path} (ids must be unique)`,
      );
    }
    seen.set(manifest.id, path);
    if (manifest.task === "expression") manifests.push({ path, manifest });
  }
  if (!manifests.length) {
    throw new Error(
      `Cannot start: no expression model manifest in MODEL_DIR "${modelDir}" (run \`deno task models\`)`,
    );
  }
  const defaultId = chooseDefault(manifests.map((m) => m.manifest), defaultModel);
  const defaultManifest = manifests.find((m) => m.manifest.id === defaultId)!.manifest;
  // Serving an untrained model by default is allowed (a folder with only a seeded SCAN+CCI) but never silent.
  const defaultWarning = defaultManifest.trained
    ? undefined
    : `the default model "${defaultId}" is untrained ` +
      `(trained: false, seeded random weights): its expressions are meaningless; add a trained model or set DEFAULT_MODEL`;
  if (defaultWarning) logger?.warn("untrained default model", { model: defaultId, detail: defaultWarning });
  const threads = intraOpThreads || undefined;
  const batchSize = metrics?.histogram("fer_batch_size", "Faces per model run", [
    1,
    2,
    4,
    8,
    16,
    32,
    64,
    128,
  ]);
  const batchCallers = metrics?.histogram("fer_batch_requests", "Distinct requests sharing one model run", [
    1,
    2,
    4,
    8,
    16,
    32,
  ]);
  // The face nets open while the expression models load: independent work whose file reads and checksums
  // overlap (onnxruntime-node builds each session synchronously behind a setImmediate).
  const facesPending = createFaces?.({
    modelDir,
    executionProvider,
    intraOpNumThreads: threads,
    allowSpinning,
    memoryPattern,
    worker: inferenceWorker,
  });
  facesPending?.catch(() => {}); // awaited below; a model failing first must not leave it unhandled
  const models = new Map<string, LoadedModel>();
  // Sessions opened so far: a failed start releases them (and the face nets), so the shared inference worker
  // ends before the process exits instead of being torn down in the middle of onnxruntime.
  const opened: { release(): Promise<void> }[] = [];
  let faces: Awaited<typeof facesPending>;
  try {
    for (const { path, manifest } of manifests) {
      const t0 = performance.now();
      const session = await openModel(path, {
        executionProvider,
        intraOpNumThreads: threads,
        allowSpinning,
        memoryPattern,
        worker: inferenceWorker,
      })
        .catch((err) => {
          throw new Error(
            `Cannot start: model "${manifest.id}" (${path}) does not load: ${(err as Error).message}`,
          );
        });
      opened.push(session);
      if (session.fallbackReason) {
        logger?.warn("execution provider fallback", { model: manifest.id, reason: session.fallbackReason });
      }
      const run = batchRunner(session, calibrated, metrics);
      const batcher = createBatcher<Float32Array, FaceOutput>({
        run,
        maxBatch,
        maxDelayMs,
        maxQueue,
        onBatch: (b) => {
          batchSize?.(b.size, { model: manifest.id });
          batchCallers?.(b.callers, { model: manifest.id });
        },
      });
      const { width, height } = manifest.input.size;
      await run([new Float32Array(3 * width * height)]); // warm-up: first run allocates and tunes kernels
      models.set(manifest.id, {
        id: manifest.id,
        version: modelVersion(manifest),
        manifest,
        hasAttention: servedOutputs(manifest).attention !== undefined,
        batcher,
        session,
        provider: session.provider,
        fallbackReason: session.fallbackReason,
        ready: true,
      });
      logger?.info("model loaded", {
        model: manifest.id,
        trained: manifest.trained,
        provider: session.provider,
        ...(calibrated && manifest.calibration ? { temperature: manifest.calibration.temperature } : {}),
        ms: Math.round(performance.now() - t0),
        default: manifest.id === defaultId,
      });
    }
    faces = facesPending ? await facesPending : undefined;
  } catch (err) {
    for (const session of opened) await session.release().catch(() => {});
    await (await facesPending?.catch(() => undefined))?.release?.().catch(() => {});
    throw err;
  }
  metrics?.gauge(
    "fer_queue_depth",
    "Faces waiting in the micro-batchers",
    () => [...models.values()].reduce((s, m) => s + m.batcher.depth, 0),
  );
  if (!faces) {
    logger?.warn("face detector not loaded: only detect=false requests can be served", { modelDir });
  }
  const imageSlots = createSemaphore(imageConcurrency || Math.max(2, navigator.hardwareConcurrency || 2));
  metrics?.gauge(
    "fer_images_waiting",
    "Images waiting for a decode/detection slot",
    () => imageSlots.waiting,
  );
  return {
    models,
    defaultId,
    defaultWarning,
    faces,
    imageSlots,
    resolve(id) {
      const m = models.get(id ?? defaultId);
      if (!m) {
        throw new ApiError(
          "invalid_request",
          `Cannot use model "${id}": unknown id (available: ${[...models.keys()].join(", ")})`,
          { issues: [{ path: "model", message: `unknown model "${id}"` }] },
        );
      }
      return m;
    },
    async close() {
      for (const m of models.values()) {
        await m.batcher.idle();
        await m.session.release();
      }
      await faces?.release?.();
    },
  };
}
