/**
 * Video jobs as one service: an upload is written to DATA_DIR, probed and checked against the limits (container,
 * codec, duration, pixels) before it is queued; the store keeps it, the runner runs it, and its results are
 * assembled (tracks, smoothing, segments) from the stored frames with src/video.ts, the same code as the frames
 * endpoint. Repeated uploads with the same idempotency key and owner return the first job.
 */
import { join } from "node:path";
import { ApiError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Registry } from "../registry.ts";
import { assembleVideo, type FrameResult, smoothingOf, type TrackSummary } from "../video.ts";
import { ffmpegAvailable, ffprobePath, frameSize, probeVideo, type VideoMeta } from "./ffmpeg.ts";
import { isFinal, JobRunner } from "./runner.ts";
import { type Job, type JobBackend, type JobOptions, JobStore } from "./store.ts";
import type { AnalyzedImage } from "../classify.ts";
import { checkWebhookUrl, deliverWebhook, type WebhookOptions } from "./webhook.ts";
import { assertWebhookTarget, describeRefusal } from "./ssrf.ts";

/** Containers (ffprobe `format_name` parts) and codecs a job accepts. */
export const VIDEO_CONTAINERS = ["mov", "mp4", "matroska", "webm", "avi"] as const;
export const VIDEO_CODECS = ["h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mjpeg"] as const;

/** The limits and places of the job service. */
export interface JobsOptions {
  dataDir: string;
  ffmpeg: string;
  concurrency: number;
  timeoutMs: number;
  maxBatch: number;
  maxPixels: number;
  maxVideoSeconds: number;
  maxVideoSide: number;
  /** Hours a finished job is kept (0: forever). */
  ttlHours?: number;
  registry: () => Registry | undefined;
  /** The store; absent: the embedded SQLite store in `dataDir` (PostgreSQL: src/jobs/store_pg.ts). */
  store?: JobBackend;
  /** With a shared store: how long a replica's claim on a running job lasts without a heartbeat. */
  leaseMs?: number;
  /**
   * Completion webhooks: the signing key (empty: uploads with a webhook are refused), attempts, backoff, the
   * internal ranges they may call (none by default: see src/jobs/ssrf.ts).
   */
  webhooks?: WebhookOptions;
  /** The JSON a webhook sends for a job (the API's view of it); the stored job when absent. */
  view?: (job: Job) => unknown;
  logger?: Logger;
}

/**
 * A new job's request: the video (its bytes, or a file in the same file system as DATA_DIR that the job
 * takes over), options (fps absent: the source rate), who and the idempotency key.
 */
export interface Submission {
  video: { bytes: Uint8Array } | { file: string };
  options: Omit<JobOptions, "fps" | "start"> & { fps?: number; start?: number };
  owner: string;
  idempotencyKey?: string;
  /** URL POSTed the job when it ends (http or https; needs a webhook secret). */
  webhook?: string;
}

/** The assembled results of a job (or the prefix stored so far). */
export interface JobResults {
  frames: FrameResult[];
  tracks: TrackSummary[];
}

/** Checks a probed video and the requested range against the limits; returns the range's frame count. */
export function checkVideo(
  meta: VideoMeta,
  o: { fps: number; start: number; end?: number },
  { maxPixels, maxVideoSeconds }: { maxPixels: number; maxVideoSeconds: number },
): number {
  const parts = meta.container.split(",");
  if (!parts.some((p) => (VIDEO_CONTAINERS as readonly string[]).includes(p))) {
    throw new ApiError(
      "unsupported_media_type",
      `Cannot accept video: container "${meta.container}" is not one of mp4/mov, webm, mkv or avi`,
    );
  }
  if (!(VIDEO_CODECS as readonly string[]).includes(meta.codec)) {
    throw new ApiError(
      "unsupported_media_type",
      `Cannot accept video: codec "${meta.codec}" is not one of ${VIDEO_CODECS.join(", ")}`,
    );
  }
  if (meta.width * meta.height > maxPixels) {
    throw new ApiError(
      "too_many_pixels",
      `Cannot accept video: ${meta.width}x${meta.height} frames are over the limit of ${maxPixels} pixels`,
    );
  }
  if (o.start >= meta.duration) {
    throw new ApiError(
      "invalid_request",
      `Cannot accept video: start ${o.start} s is past its end (${meta.duration} s)`,
      {
        issues: [{ path: "start", message: `must be below ${meta.duration}` }],
      },
    );
  }
  const end = Math.min(o.end ?? meta.duration, meta.duration);
  if (end - o.start > maxVideoSeconds) {
    throw new ApiError(
      "video_too_long",
      `Cannot accept video: ${(end - o.start).toFixed(1)} s is over the limit of ${maxVideoSeconds} s`,
    );
  }
  return Math.max(1, Math.round((end - o.start) * o.fps));
}

/**
 * The job service (see the module note). `S` is the store's type: the SQLite {@link JobStore} (answering at
 * once, which the tests and the annotate CLI read directly) unless a store is given.
 */
export class Jobs<S extends JobBackend = JobStore> {
  readonly store: S;
  readonly runner: JobRunner;
  readonly #o: JobsOptions;

  /** The folder of uploads (the same file system as the store; `submit` renames a `file` into it). */
  readonly uploadsDir: string;

  constructor(o: JobsOptions) {
    this.#o = o;
    this.uploadsDir = join(o.dataDir, "uploads");
    Deno.mkdirSync(this.uploadsDir, { recursive: true });
    this.store = (o.store ?? new JobStore(o.dataDir)) as S;
    this.runner = new JobRunner({
      store: this.store,
      leaseMs: o.leaseMs,
      registry: o.registry,
      ffmpeg: o.ffmpeg,
      concurrency: o.concurrency,
      timeoutMs: o.timeoutMs,
      maxBatch: o.maxBatch,
      maxPixels: o.maxPixels,
      onFinished: (id) => this.#notify(id),
      logger: o.logger,
    });
  }

  readonly #deliveries = new Set<Promise<unknown>>();
  readonly #stopDeliveries = new AbortController();

  /** Sends the webhook of a job that ended, in the background, from its attempt `done + 1` on. */
  #notify(id: string, done = 0): void {
    const w = this.#o.webhooks;
    if (!w?.secret || this.#stopDeliveries.signal.aborted) return;
    const delivery = Promise.resolve(this.store.get(id)).then((job) => {
      if (!job?.webhook || this.#stopDeliveries.signal.aborted) return true;
      const body = JSON.stringify(this.#o.view ? this.#o.view(job) : job);
      return deliverWebhook(job.webhook.url, body, {
        ...w,
        done,
        event: `job.${job.status}`,
        signal: this.#stopDeliveries.signal,
        record: (a) => this.store.addWebhookAttempt(id, a),
        onRefused: (r) => {
          this.#o.logger?.warn("webhook refused", {
            job: id,
            host: r.host,
            address: r.address,
            detail: describeRefusal(r),
          });
          w.onRefused?.(r);
        },
      });
    }).then((ok) => {
      if (!ok && !this.#stopDeliveries.signal.aborted) {
        this.#o.logger?.warn("webhook not delivered", { job: id, attempts: w.attempts });
      }
    }).catch((err) => this.#o.logger?.error("webhook failed", { job: id, error: String(err) }))
      .finally(() => this.#deliveries.delete(delivery));
    this.#deliveries.add(delivery);
  }

  /** Resumes the webhooks a previous process had not delivered nor given up on. */
  async #resumeDeliveries(): Promise<void> {
    const max = this.#o.webhooks?.attempts ?? 0;
    for (const job of await this.store.finishedWithWebhook()) {
      const attempts = job.webhook!.attempts;
      const delivered = attempts.some((a) => a.status !== undefined && a.status >= 200 && a.status < 300);
      if (!delivered && attempts.length < max) this.#notify(job.id, attempts.length);
    }
  }

  /**
   * Writes, probes and checks an upload and queues it; the same owner and idempotency key return the first job
   * instead. 503 without ffmpeg, 415 for another container or codec, 413 over the limits, 422 unreadable.
   */
  async submit(s: Submission, model: { id: string; version: string; trained: boolean }): Promise<Job> {
    const webhook = s.webhook === undefined
      ? undefined
      : checkWebhookUrl(s.webhook, this.#o.webhooks?.secret ?? "");
    if (webhook) {
      await assertWebhookTarget(webhook, {
        allowed: this.#o.webhooks?.allowedCidrs,
        resolve: this.#o.webhooks?.resolve,
      });
    }
    if (s.idempotencyKey) {
      const seen = await this.store.byIdempotencyKey(s.owner, s.idempotencyKey);
      if (seen) return seen;
    }
    const id = crypto.randomUUID();
    const path = join(this.uploadsDir, id);
    if ("file" in s.video) await Deno.rename(s.video.file, path);
    else await Deno.writeFile(path, s.video.bytes);
    try {
      // Before ffprobe: an empty upload gets one answer however it came (raw body or multipart file).
      if ((await Deno.stat(path)).size === 0) {
        throw new ApiError("undecodable_video", "Cannot read video: input is empty (0 bytes)");
      }
      const meta = await probeVideo(path, { ffmpeg: this.#o.ffmpeg });
      const fps = s.options.fps ?? (meta.fps > 0 ? meta.fps : 25);
      const start = s.options.start ?? 0;
      const total = checkVideo(meta, { fps, start, end: s.options.end }, this.#o);
      const job: Job = {
        id,
        owner: s.owner,
        ...(s.idempotencyKey ? { idempotencyKey: s.idempotencyKey } : {}),
        status: "queued",
        createdAt: Date.now(),
        options: { ...s.options, model: model.id, fps, start },
        model,
        video: meta,
        frameSize: frameSize(meta.width, meta.height, this.#o.maxVideoSide),
        path,
        done: 0,
        total,
        ...(webhook ? { webhook: { url: webhook, attempts: [] } } : {}),
      };
      try {
        await this.store.insert(job);
      } catch (err) {
        // Two uploads with one key at once: the first insert wins, the second answers its job.
        const seen = s.idempotencyKey
          ? await this.store.byIdempotencyKey(s.owner, s.idempotencyKey)
          : undefined;
        if (!seen) throw err;
        await Deno.remove(path).catch(() => {});
        return seen;
      }
      this.runner.pump();
      return job;
    } catch (err) {
      await Deno.remove(path).catch(() => {});
      throw err;
    }
  }

  /** Assembles `images` (a job's stored frames from 0) with the job's tracking and smoothing options. */
  assemble(job: Job, images: readonly AnalyzedImage[]): JobResults {
    const o = job.options;
    const times = images.map((_, i) => Number((o.start + i / o.fps).toFixed(4)));
    return assembleVideo(images, times, { track: o.track, smoothing: smoothingOf(o) });
  }

  /** The complete results of a succeeded job; 409 `job_not_finished` otherwise. */
  async results(job: Job): Promise<JobResults> {
    if (job.status !== "succeeded") {
      throw new ApiError(
        "job_not_finished",
        `Cannot return results: job ${job.id} is ${job.status}` +
          (isFinal(job.status) ? "" : " (stream them with format=ndjson, or poll the job)"),
      );
    }
    return this.assemble(job, await this.store.frames(job.id));
  }

  /** Whether ffmpeg and ffprobe could be started (checked by `start`; undefined before). */
  ffmpeg?: boolean;

  /** Deletes finished jobs past the TTL; returns how many. */
  async expire(now = Date.now()): Promise<number> {
    const hours = this.#o.ttlHours ?? 0;
    if (hours <= 0) return 0;
    const n = await this.store.deleteFinishedBefore(now - hours * 3_600_000);
    if (n) this.#o.logger?.info("jobs expired", { jobs: n });
    return n;
  }

  #sweep?: ReturnType<typeof setInterval>;

  /**
   * Starts running queued (and resumed) jobs, expires old ones now and every 10 minutes, and checks once that
   * ffmpeg is there (readiness reports it).
   */
  start(): void {
    const failed = (what: string) => (err: unknown) =>
      this.#o.logger?.error(`jobs ${what} failed`, { error: String(err) });
    this.runner.start().catch(failed("start"));
    this.#resumeDeliveries().catch(failed("webhook resume"));
    this.expire().catch(failed("expiry"));
    if (this.#sweep === undefined) {
      this.#sweep = setInterval(() => this.expire().catch(failed("expiry")), 600_000);
      // The sweep alone must not keep a process alive (tests, the CLI).
      Deno.unrefTimer(this.#sweep as unknown as number);
    }
    this.checkFfmpeg().then((ok) => {
      if (!ok) {
        this.#o.logger?.warn("ffmpeg missing", {
          ffmpeg: this.#o.ffmpeg,
          detail: "POST /v1/videos answers 503 until ffmpeg is installed (apt-get install -y ffmpeg)",
        });
      }
    });
  }

  #ffmpegCheck?: Promise<boolean>;

  /** Whether ffmpeg and ffprobe start, checked once (sets `ffmpeg`); `GET /v1/capabilities` asks before `start`. */
  checkFfmpeg(): Promise<boolean> {
    this.#ffmpegCheck ??= Promise.all([
      ffmpegAvailable(this.#o.ffmpeg),
      ffmpegAvailable(ffprobePath(this.#o.ffmpeg)),
    ]).then(([a, b]) => this.ffmpeg = a && b);
    return this.#ffmpegCheck;
  }

  /**
   * Stops the runner (running jobs resume on the next start) and pending webhooks (their remaining attempts are
   * made on the next start), and closes the store.
   */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    await this.runner.stop();
    this.#stopDeliveries.abort();
    await Promise.all([...this.#deliveries]);
    await this.store.close();
  }
}
