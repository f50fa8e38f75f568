/**
 * `deno task annotate --input DIR|FILE --out DIR [--model ID] [--detector NAME] [--every N | --fps F]
 * [--format json|ndjson|csv|abaw] [--shards N --shard I] [--model-dir DIR]`: the offline batch form of video
 * jobs. Each video (`.mp4 .m4v .mov .webm .mkv .avi`, folders walked recursively) runs through the job service
 * in this process (src/jobs/jobs.ts: the same probe, limits, ffmpeg decoding, per-frame pipeline and track
 * assembly as `POST /v1/videos`, no HTTP), and its results are written to `OUT/<relative path>.<format>` in the
 * format of `GET /v1/jobs/{id}/results`, through a temporary file renamed into place, so a result file is
 * always whole. A video whose result file exists is skipped: a run killed at any point is resumed by running it
 * again. With `--shards N` a video belongs to shard `sha256(relative path) mod N` (`--shard I`, else
 * `JOB_COMPLETION_INDEX`, as a Kubernetes Indexed Job sets it), so N processes split a folder without talking.
 * Exit codes: 0 all done (or skipped), 1 some videos failed (each named on stderr), 2 bad arguments or missing
 * models/ffmpeg, 130 on SIGINT (143 on SIGTERM) once the file in progress is written; a second signal stops
 * at once (the file in progress is not written). Reads the server's environment variables for the rest
 * (MODEL_DIR, FFMPEG_PATH, MAX_VIDEO_SIDE, MAX_VIDEO_SECONDS, MAX_PIXELS, MAX_BATCH, EXECUTION_PROVIDER, ...).
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { basename, dirname, join, relative, sep } from "node:path";
import { loadConfig } from "./config.ts";
import { ApiError } from "./errors.ts";
import { DEFAULT_DETECTOR, DETECTOR_NAMES } from "./faces/detectors.ts";
import { createFaceDetector } from "./faces/pipeline.ts";
import { ABAW_HEADER, abawLines, CSV_HEADER, csvRows } from "./jobs/formats.ts";
import { probeVideo } from "./jobs/ffmpeg.ts";
import { Jobs } from "./jobs/jobs.ts";
import { isFinal } from "./jobs/runner.ts";
import type { JobOptions } from "./jobs/store.ts";
import { createLogger } from "./logger.ts";
import { loadRegistry, type Registry, registryOptionsFrom } from "./registry.ts";
import { SMOOTHING_METHODS } from "./smoothing.ts";

const USAGE = "usage: deno task annotate --input DIR|FILE --out DIR [--model ID] " +
  `[--detector ${DETECTOR_NAMES.join("|")}] [--every N | --fps F] [--format json|ndjson|csv|abaw] ` +
  "[--track true|false] [--smoothing none|ema|window] [--alpha A] [--window N] " +
  "[--shards N --shard I] [--model-dir DIR]";

/** File name endings taken as videos when a folder is walked. */
export const VIDEO_EXTENSIONS = [".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"] as const;

/** Result formats, as `GET /v1/jobs/{id}/results?format=` names them, and the ending of their files. */
export const ANNOTATE_FORMATS = { json: ".json", ndjson: ".ndjson", csv: ".csv", abaw: ".abaw.txt" } as const;
export type AnnotateFormat = keyof typeof ANNOTATE_FORMATS;

/**
 * The analysis options of every video: those `POST /v1/videos` takes when a request names none (the route's
 * schema defaults; tests/src/annotate_test.ts checks they are the same), the model and detector aside.
 */
export const ANNOTATE_DEFAULTS: Omit<JobOptions, "fps" | "start" | "model" | "detector"> = Object.freeze({
  detect: true,
  maxFaces: 20,
  minFaceSize: 0,
  minConfidence: 0.5,
  landmarks: false,
  attention: false,
  track: true,
  smoothing: "none",
  alpha: 0.5,
  window: 5,
});

/** The parsed command line. */
export interface AnnotateArgs {
  input: string;
  out: string;
  model?: string;
  detector: string;
  /** Every Nth source frame; or `fps` frames per second; neither: the source rate. */
  every?: number;
  fps?: number;
  format: AnnotateFormat;
  /** Tracking and smoothing, as `POST /v1/videos` takes them; absent: the endpoint's defaults. */
  video: Partial<Pick<JobOptions, "track" | "smoothing" | "alpha" | "window">>;
  shards: number;
  shard: number;
  modelDir?: string;
}

/** A bad command line (exit 2); the message says which argument and why. */
export class UsageError extends Error {}

function positiveInt(value: string, name: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new UsageError(`Cannot parse --${name}: "${value}" is not a whole number >= 1`);
  }
  return Number(value);
}

/** Parses `args` (and JOB_COMPLETION_INDEX from `env` when `--shard` is absent); throws `UsageError`. */
export function parseAnnotateArgs(
  args: string[],
  env: Record<string, string | undefined> = {},
): AnnotateArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      allowPositionals: false,
      options: {
        input: { type: "string" },
        out: { type: "string" },
        model: { type: "string" },
        detector: { type: "string", default: DEFAULT_DETECTOR },
        every: { type: "string" },
        fps: { type: "string" },
        format: { type: "string", default: "json" },
        track: { type: "string" },
        smoothing: { type: "string" },
        alpha: { type: "string" },
        window: { type: "string" },
        shards: { type: "string" },
        shard: { type: "string" },
        "model-dir": { type: "string" },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!values.input) throw new UsageError("Cannot start: --input is required (a video file or a folder)");
  if (!values.out) throw new UsageError("Cannot start: --out is required (the folder of the result files)");
  if (!(DETECTOR_NAMES as readonly string[]).includes(values.detector)) {
    throw new UsageError(
      `Cannot parse --detector: "${values.detector}" is not ${DETECTOR_NAMES.join(" or ")}`,
    );
  }
  if (!(values.format in ANNOTATE_FORMATS)) {
    throw new UsageError(
      `Cannot parse --format: "${values.format}" is not ${Object.keys(ANNOTATE_FORMATS).join(", ")}`,
    );
  }
  if (values.every !== undefined && values.fps !== undefined) {
    throw new UsageError("Cannot sample: --every and --fps are alternatives, give one");
  }
  const every = values.every === undefined ? undefined : positiveInt(values.every, "every");
  let fps: number | undefined;
  if (values.fps !== undefined) {
    fps = Number(values.fps);
    if (!(Number.isFinite(fps) && fps > 0 && fps <= 120)) {
      throw new UsageError(`Cannot parse --fps: "${values.fps}" is not a number in (0, 120]`);
    }
  }
  // The same values and bounds as the endpoint's query (openapi/schemas.ts VideoOptions).
  const video: AnnotateArgs["video"] = {};
  if (values.track !== undefined) {
    if (values.track !== "true" && values.track !== "false") {
      throw new UsageError(`Cannot parse --track: "${values.track}" is not true or false`);
    }
    video.track = values.track === "true";
  }
  if (values.smoothing !== undefined) {
    if (!(SMOOTHING_METHODS as readonly string[]).includes(values.smoothing)) {
      throw new UsageError(
        `Cannot parse --smoothing: "${values.smoothing}" is not ${SMOOTHING_METHODS.join(", ")}`,
      );
    }
    video.smoothing = values.smoothing as JobOptions["smoothing"];
  }
  if (values.alpha !== undefined) {
    const alpha = Number(values.alpha);
    if (!(Number.isFinite(alpha) && alpha > 0 && alpha <= 1)) {
      throw new UsageError(`Cannot parse --alpha: "${values.alpha}" is not a number in (0, 1]`);
    }
    video.alpha = alpha;
  }
  if (values.window !== undefined) {
    const window = positiveInt(values.window, "window");
    if (window > 64) throw new UsageError(`Cannot parse --window: "${values.window}" is above 64`);
    video.window = window;
  }
  const shards = values.shards === undefined ? 1 : positiveInt(values.shards, "shards");
  const shardText = values.shard ?? (values.shards === undefined ? undefined : env.JOB_COMPLETION_INDEX);
  if (shards > 1 && shardText === undefined) {
    throw new UsageError("Cannot shard: --shards needs --shard I (or JOB_COMPLETION_INDEX)");
  }
  const shard = shardText === undefined ? 0 : /^\d+$/.test(shardText.trim()) ? Number(shardText) : NaN;
  if (!(shard >= 0 && shard < shards)) {
    throw new UsageError(`Cannot shard: shard "${shardText}" is not a whole number in [0, ${shards - 1}]`);
  }
  return {
    input: values.input,
    out: values.out,
    ...(values.model ? { model: values.model } : {}),
    detector: values.detector,
    ...(every !== undefined ? { every } : {}),
    ...(fps !== undefined ? { fps } : {}),
    format: values.format as AnnotateFormat,
    video,
    shards,
    shard,
    ...(values["model-dir"] ? { modelDir: values["model-dir"] } : {}),
  };
}

/**
 * The shard of a video: the first 4 bytes of SHA-256 over its relative path (`/` separators, UTF-8) as an
 * unsigned integer, mod `shards`. Stable across runs, machines and languages, and independent of which other
 * files exist, so a file never moves between shards when others are added.
 */
export function shardOf(relativePath: string, shards: number): number {
  return createHash("sha256").update(relativePath).digest().readUInt32BE(0) % shards;
}

/** One input video: its path and its path relative to the input (the key of its shard and result file). */
export interface InputVideo {
  path: string;
  relative: string;
}

/** The videos under `input` (a file is itself, a folder is walked), sorted by relative path. */
export async function listVideos(input: string): Promise<InputVideo[]> {
  const info = await Deno.stat(input);
  if (info.isFile) return [{ path: input, relative: input.split(sep).pop()! }];
  const out: InputVideo[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.isFile && VIDEO_EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x))) {
        out.push({ path, relative: relative(input, path).split(sep).join("/") });
      }
    }
  };
  await walk(input);
  return out.sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
}

/** Where a video's results go. */
export function resultPath(out: string, video: InputVideo, format: AnnotateFormat): string {
  return join(out, ...video.relative.split("/")) + ANNOTATE_FORMATS[format];
}

/** Writes `text` to `path` whole or not at all: a temporary file in the same folder, then a rename. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.partial-${Deno.pid}`;
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** Removes the temporary files a killed run left for `path` (only this run writes `path`: shards are disjoint). */
async function removeStalePartials(path: string): Promise<void> {
  const prefix = `${basename(path)}.partial-`;
  try {
    for await (const e of Deno.readDir(dirname(path))) {
      if (e.name.startsWith(prefix)) await Deno.remove(join(dirname(path), e.name)).catch(() => {});
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** What a run did: counts, and the relative paths that failed with why. */
export interface AnnotateSummary {
  shard: number;
  shards: number;
  videos: number;
  done: number;
  skipped: number;
  failed: { video: string; error: string }[];
  interrupted?: "SIGINT" | "SIGTERM";
}

/**
 * Annotates the videos of `a` with `jobs` (started, over a loaded registry): each video of this shard without
 * a result file is submitted, waited for and written; a failure is recorded and the run goes on. `stop` says
 * after each video whether to stop (a signal came); `abort` cancels the video in progress.
 */
export async function annotate(
  a: AnnotateArgs,
  { jobs, registry, ffmpeg, stop, abort, log }: {
    jobs: Jobs;
    registry: Registry;
    ffmpeg: string;
    stop: () => "SIGINT" | "SIGTERM" | undefined;
    abort: AbortSignal;
    log: (line: string) => void;
  },
): Promise<AnnotateSummary> {
  const all = await listVideos(a.input);
  const mine = all.filter((v) => a.shards === 1 || shardOf(v.relative, a.shards) === a.shard);
  const summary: AnnotateSummary = {
    shard: a.shard,
    shards: a.shards,
    videos: mine.length,
    done: 0,
    skipped: 0,
    failed: [],
  };
  const model = registry.resolve(a.model);
  const ref = { id: model.id, version: model.version, trained: model.manifest.trained };
  for (const video of mine) {
    const interrupted = stop();
    if (interrupted) {
      summary.interrupted = interrupted;
      break;
    }
    const target = resultPath(a.out, video, a.format);
    try {
      await Deno.lstat(target);
      summary.skipped++;
      continue;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    await removeStalePartials(target);
    try {
      const text = await annotateOne(video, a, { jobs, ref, ffmpeg, abort });
      if (text === undefined) break; // aborted by a second signal: nothing written
      await writeAtomic(target, text);
      summary.done++;
      log(`annotate: done ${video.relative} -> ${target}`);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      summary.failed.push({ video: video.relative, error });
      log(`annotate: FAILED ${video.relative}: ${error}`);
    }
  }
  const late = stop();
  if (late) summary.interrupted = late;
  return summary;
}

function uploadPattern(jobs: Jobs): RegExp {
  const dir = jobs.uploadsDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(dir + String.raw`[/\\][\w-]+`, "g");
}

/** Runs one video as a job and returns its results file's text; undefined when aborted. */
async function annotateOne(
  video: InputVideo,
  a: AnnotateArgs,
  { jobs, ref, ffmpeg, abort }: {
    jobs: Jobs;
    ref: { id: string; version: string; trained: boolean };
    ffmpeg: string;
    abort: AbortSignal;
  },
): Promise<string | undefined> {
  let fps = a.fps;
  if (a.every !== undefined) {
    const meta = await probeVideo(video.path, { ffmpeg });
    fps = (meta.fps > 0 ? meta.fps : 25) / a.every;
  }
  // The job takes its upload over (renames it): hand it a link to the input (a copy across file systems).
  const staged = join(jobs.uploadsDir, `annotate-${crypto.randomUUID()}`);
  await Deno.link(video.path, staged).catch(() => Deno.copyFile(video.path, staged));
  let job;
  try {
    job = await jobs.submit({
      video: { file: staged },
      options: {
        ...ANNOTATE_DEFAULTS,
        ...a.video,
        model: ref.id,
        detector: a.detector,
        ...(fps !== undefined ? { fps } : {}),
      },
      owner: "annotate",
    }, ref);
  } catch (err) {
    // The job's messages name its upload; the user knows the video by its own path.
    if (err instanceof Error) err.message = err.message.replaceAll(uploadPattern(jobs), video.path);
    throw err;
  } finally {
    await Deno.remove(staged).catch(() => {});
  }
  const cancel = () => jobs.runner.cancel(job.id);
  abort.addEventListener("abort", cancel, { once: true });
  try {
    let now = jobs.store.get(job.id)!;
    while (!isFinal(now.status)) {
      await jobs.runner.wait(job.id);
      now = jobs.store.get(job.id)!;
    }
    if (abort.aborted) return undefined;
    if (now.status !== "succeeded") {
      const detail = now.error?.detail ?? `Cannot annotate: the job ended ${now.status}`;
      throw new Error(detail.replaceAll(uploadPattern(jobs), video.path));
    }
    const { frames, tracks } = await jobs.results(now);
    // One video at a time: its stored frames are no longer needed (the scratch store stays small).
    jobs.store.deleteFinishedBefore(Date.now() + 1);
    switch (a.format) {
      case "json":
        return JSON.stringify({ job: job.id, model: now.model, frames, tracks }) + "\n";
      case "ndjson":
        return frames.map((f) => JSON.stringify(f) + "\n").join("");
      case "csv":
        return [CSV_HEADER, ...csvRows(frames)].join("\n") + "\n";
      case "abaw":
        return [ABAW_HEADER, ...abawLines(frames)].join("\n") + "\n";
    }
  } finally {
    abort.removeEventListener("abort", cancel);
  }
}

/** Runs the CLI on `args`; returns the process exit code (see the module note). */
export async function main(args: string[], env = Deno.env.toObject()): Promise<number> {
  let a: AnnotateArgs;
  let config;
  try {
    a = parseAnnotateArgs(args, env);
    config = loadConfig(env);
    await Deno.stat(a.input).catch(() => {
      throw new UsageError(`Cannot read --input: "${a.input}" does not exist`);
    });
  } catch (err) {
    if (!(err instanceof UsageError) && !/invalid configuration/.test(String(err))) throw err;
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const logger = createLogger({ level: "warn" });
  let registry: Registry;
  try {
    registry = await loadRegistry({
      modelDir: a.modelDir ?? config.modelDir,
      ...registryOptionsFrom(config),
      logger,
      createFaces: (o) => createFaceDetector(o),
    });
    registry.resolve(a.model);
  } catch (err) {
    console.error(err instanceof ApiError || err instanceof Error ? err.message : String(err));
    return 2;
  }
  // The store of this run's jobs is scratch: what survives a kill is the result files.
  const dataDir = await Deno.makeTempDir({ prefix: "fer-annotate-" });
  const jobs = new Jobs({
    dataDir,
    ffmpeg: config.ffmpegPath,
    concurrency: 1,
    timeoutMs: config.jobTimeoutMs,
    maxBatch: config.maxBatch,
    maxPixels: config.maxPixels,
    maxVideoSeconds: config.maxVideoSeconds,
    maxVideoSide: config.maxVideoSide,
    registry: () => registry,
    logger,
  });
  let signal: "SIGINT" | "SIGTERM" | undefined;
  const abort = new AbortController();
  const handlers = (["SIGINT", "SIGTERM"] as const).map((name) => {
    const handler = () => {
      if (signal) abort.abort(); // the second signal: stop now
      else {
        signal = name;
        console.error(`annotate: ${name}: finishing the video in progress (again to stop at once)`);
      }
    };
    Deno.addSignalListener(name, handler);
    return () => Deno.removeSignalListener(name, handler);
  });
  try {
    if (!(await jobs.checkFfmpeg())) {
      console.error(
        `Cannot annotate: ffmpeg "${config.ffmpegPath}" (and ffprobe) cannot be started (apt-get install -y ffmpeg, or set FFMPEG_PATH)`,
      );
      return 2;
    }
    jobs.start();
    const summary = await annotate(a, {
      jobs,
      registry,
      ffmpeg: config.ffmpegPath,
      stop: () => signal,
      abort: abort.signal,
      log: (line) => console.error(line),
    });
    console.log(JSON.stringify(summary));
    if (summary.interrupted) return summary.interrupted === "SIGINT" ? 130 : 143;
    return summary.failed.length ? 1 : 0;
  } finally {
    for (const off of handlers) off();
    await jobs.close();
    await registry.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
