/**
 * Runs the video jobs of one server process: at most `concurrency` at once, oldest first. A run decodes the
 * upload with ffmpeg (src/jobs/ffmpeg.ts), sends the frames through the same per-frame pipeline as the frames
 * endpoint (`analyzeImages`, in chunks as they arrive, two chunks in flight) and stores the chunks in order,
 * so a restart resumes after the last stored frame. Cancel and the job timeout kill ffmpeg; waiters (NDJSON
 * streams) are woken on every stored chunk and status change.
 */
import { analyzeImages, type AnalyzeOptions } from "../classify.ts";
import { ApiError, toProblem } from "../errors.ts";
import type { RawImage } from "../image.ts";
import type { Logger } from "../logger.ts";
import type { Registry } from "../registry.ts";
import type { DetectorName } from "../faces/detectors.ts";
import { decodeVideo } from "./ffmpeg.ts";
import type { Job, JobBackend } from "./store.ts";

/** What the runner needs from the server. */
export interface RunnerOptions {
  store: JobBackend;
  /** The registry once models are loaded. */
  registry: () => Registry | undefined;
  ffmpeg: string;
  concurrency: number;
  timeoutMs: number;
  maxBatch: number;
  maxPixels: number;
  /** Frames analysed together (one `analyzeImages` call). Default 16. */
  chunkFrames?: number;
  /**
   * Chunks of one job in the pipeline at once (analysed, or waiting to be stored in order) while ffmpeg decodes
   * on. Default 2: the next chunk's detection overlaps the previous one's classification and storing.
   */
  chunksInFlight?: number;
  /** With a shared store: how long a claim lasts without a heartbeat (renewed every third of it). */
  leaseMs?: number;
  /** With a shared store: how often the queue is polled for work (default: a third of the lease, at most 1 s). */
  pollMs?: number;
  /** Called once a job has reached a final status (succeeded, failed, cancelled) in this process. */
  onFinished?: (id: string) => void;
  logger?: Logger;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
  pid?: number;
  /** Set by `cancel` before it writes the status: this process then writes the outcome and notifies. */
  cancelled?: boolean;
  /** ffmpeg's exit, once it was started. */
  exited?: Promise<void>;
}

/** True for a status a job does not leave. */
export function isFinal(status: Job["status"]): boolean {
  return status === "succeeded" || status === "failed" || status === "cancelled";
}

/** The job runner (see the module note). */
export class JobRunner {
  readonly #o: RunnerOptions;
  readonly #running = new Map<string, Running>();
  readonly #waiters = new Map<string, Set<() => void>>();
  /** This process's name on the leases it holds (a shared store tells replicas apart by it). */
  readonly worker: string = crypto.randomUUID();
  readonly #leaseMs: number;
  #started = false;
  #stopped = false;
  #pumping = false;
  #again = false;
  #poll?: ReturnType<typeof setInterval>;
  #unlisten?: Promise<() => Promise<void>>;

  constructor(options: RunnerOptions) {
    this.#o = options;
    this.#leaseMs = options.leaseMs ?? 30_000;
  }

  /**
   * Starts running: jobs left running by a previous process are queued again first, then the queue. With a
   * shared store the queue is also polled (other replicas' uploads, jobs whose lease expired).
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const again = await this.#o.store.requeueRunning();
    if (again.length) this.#o.logger?.info("jobs resumed", { jobs: again });
    if (this.#o.store.shared && !this.#stopped) {
      this.#poll = setInterval(() => this.pump(), this.#o.pollMs ?? Math.min(1000, this.#leaseMs / 3));
      // A cancel written by another replica stops the run here at once, not at the next heartbeat.
      this.#unlisten = this.#o.store.onCancel?.((id) => {
        const run = this.#running.get(id);
        if (run && !run.cancelled) run.controller.abort("lost");
      });
      // Not awaited: a database that is slow to answer must not hold up the queue. Without the listener a
      // cancel elsewhere still stops the run at its next refused chunk or heartbeat; say so in the log.
      this.#unlisten?.catch((err) =>
        this.#o.logger?.warn("jobs cancel listener failed", { error: String(err) })
      );
    }
    this.pump();
  }

  /** Claims and starts jobs while there are free slots (one claim loop at a time; a call during it repeats it). */
  pump(): void {
    if (!this.#started || this.#stopped) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    (async () => {
      do {
        this.#again = false;
        while (!this.#stopped && this.#running.size < this.#o.concurrency) {
          const job = await this.#o.store.claim(this.worker, this.#leaseMs);
          if (!job) break;
          // Stopped while claiming: the job goes straight back for another replica (or the next start).
          if (this.#stopped) await this.#o.store.release(job.id, this.worker);
          else this.#launch(job);
        }
      } while (this.#again && !this.#stopped);
    })().catch((err) => this.#o.logger?.error("job claim failed", { error: String(err) }))
      .finally(() => this.#pumping = false);
  }

  #launch(job: Job): void {
    const controller = new AbortController();
    const entry: Running = { controller, done: Promise.resolve() };
    this.#running.set(job.id, entry);
    entry.done = this.#run(job, entry).catch((err) =>
      this.#o.logger?.error("job run failed", { job: job.id, error: String(err) })
    ).finally(() => {
      this.#running.delete(job.id);
      this.#wake(job.id);
      this.pump();
    });
  }

  /** The ffmpeg process id of a running job (for tests and logs). */
  pidOf(id: string): number | undefined {
    return this.#running.get(id)?.pid;
  }

  /**
   * Cancels a job: it is marked cancelled at once; a running one is aborted and this resolves once its ffmpeg
   * has exited (the chunks in flight stop at their next abort check; a model run already started finishes and
   * is dropped). A finished job is left as it is. A job running on another replica of a shared store stops
   * when that replica hears of the cancel (Postgres `NOTIFY`), at the latest at its next heartbeat.
   */
  async cancel(id: string): Promise<void> {
    // A job that already ended (its webhook may be on its way) keeps its status.
    if (isFinal((await this.#o.store.get(id))?.status ?? "cancelled")) return;
    const run = this.#running.get(id);
    if (run) {
      run.cancelled = true;
      await this.#o.store.setStatus(id, "cancelled");
      run.controller.abort(new ApiError("invalid_request", "Cannot finish job: it was cancelled"));
      // Bounded: a run that is still probing models has no ffmpeg yet and ends at its next check.
      await (run.exited ?? run.done);
      this.#wake(id);
      return;
    }
    const job = await this.#o.store.get(id);
    if (job && !isFinal(job.status) && await this.#o.store.setStatus(id, "cancelled")) {
      await this.#cleanup(job);
      this.#wake(id);
      this.#o.onFinished?.(id);
    }
  }

  /** Resolves at the next stored chunk or status change of `id`, or after `ms`. */
  wait(id: string, ms = 1000): Promise<void> {
    return new Promise((resolve) => {
      const set = this.#waiters.get(id) ?? new Set();
      this.#waiters.set(id, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  /**
   * Stops starting jobs and aborts the running ones: they stay `running` in the SQLite store and resume on
   * start; a shared store gets them back queued at once, for another replica.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poll);
    await (await this.#unlisten?.catch(() => undefined))?.();
    for (const r of this.#running.values()) r.controller.abort("shutdown");
    await Promise.all([...this.#running.values()].map((r) => r.done));
  }

  #wake(id: string): void {
    for (const w of [...(this.#waiters.get(id) ?? [])]) w();
  }

  async #cleanup(job: Job): Promise<void> {
    await this.#o.store.removeUpload(job);
  }

  /**
   * Renews the lease every third of LEASE_MS while the run lasts; a lease lost (taken over after a stall,
   * cancelled on another replica) aborts the run without touching the job. A failed renewal (database
   * unreachable) is retried at the next beat; the lease may expire meanwhile, and then the next chunk is refused.
   */
  #heartbeat(id: string, entry: Running): () => void {
    if (!this.#o.store.shared) return () => {};
    const beat = setInterval(async () => {
      try {
        if (!await this.#o.store.renew(id, this.worker, this.#leaseMs)) entry.controller.abort("lost");
      } catch (err) {
        this.#o.logger?.warn("job lease not renewed", { job: id, error: String(err) });
      }
    }, Math.max(50, this.#leaseMs / 3));
    return () => clearInterval(beat);
  }

  async #run(job: Job, entry: Running): Promise<void> {
    const { store, logger } = this.#o;
    const id = job.id;
    const { signal } = entry.controller;
    const worker = this.worker;
    const timer = setTimeout(
      () =>
        entry.controller.abort(
          new ApiError(
            "deadline_exceeded",
            `Cannot finish job: it ran past JOB_TIMEOUT_MS (${this.#o.timeoutMs} ms)`,
          ),
        ),
      this.#o.timeoutMs,
    );
    const stopBeat = this.#heartbeat(id, entry);
    this.#wake(id);
    logger?.info("job started", { job: id, resumeAt: job.done, worker });
    try {
      await this.#frames(job, entry, signal);
      if (signal.aborted) throw signal.reason;
      const done = (await store.get(id))!.done;
      if (!await store.setStatus(id, "succeeded", { total: done, worker })) throw "lost";
      logger?.info("job succeeded", { job: id, frames: done });
      await this.#cleanup(job);
      this.#o.onFinished?.(id);
    } catch (err) {
      const reason = signal.aborted ? signal.reason : err;
      if (reason === "shutdown") {
        if (store.shared) await store.release(id, worker);
        return;
      }
      const cancelled = entry.cancelled ||
        (signal.aborted && reason instanceof ApiError && reason.code === "invalid_request");
      if (reason === "lost" && !cancelled) {
        // Another replica has the job now (or it was cancelled there): it writes the outcome and deletes the
        // upload; this machine's fetched copy is this replica's to delete.
        logger?.warn("job lease lost", { job: id });
        await store.dropLocalUpload?.(job);
        return;
      }
      if (cancelled) {
        logger?.info("job cancelled", { job: id });
      } else {
        const { problem } = toProblem(reason, { instance: `/v1/jobs/${id}` });
        if (!(reason instanceof ApiError)) logger?.error("job failed", { job: id, error: String(reason) });
        if (!await store.setStatus(id, "failed", { error: problem, worker })) return;
      }
      await this.#cleanup(job);
      this.#o.onFinished?.(id);
    } finally {
      clearTimeout(timer);
      stopBeat();
    }
  }

  async #frames(job: Job, entry: Running, signal: AbortSignal): Promise<void> {
    const registry = this.#o.registry();
    if (!registry) throw new ApiError("not_ready", "Cannot run job: models are still loading");
    const o = job.options;
    const model = registry.resolve(o.model);
    const options: AnalyzeOptions = {
      detect: o.detect,
      maxFaces: o.maxFaces,
      minFaceSize: o.minFaceSize,
      minConfidence: o.minConfidence,
      landmarks: o.landmarks,
      attention: o.attention,
      ...(o.detector ? { detector: o.detector as DetectorName } : {}),
    };
    const chunkFrames = this.#o.chunkFrames ?? 16;
    const depth = Math.max(1, this.#o.chunksInFlight ?? 2);
    let next = job.done;
    let chunk: RawImage[] = [];
    const t0 = performance.now();
    let analysed = 0;
    const analyse = async (frames: RawImage[]) => {
      while (true) {
        try {
          return await analyzeImages(frames, options, {
            model,
            faces: registry.faces,
            maxPixels: this.#o.maxPixels,
            deadline: performance.now() + this.#o.timeoutMs,
            tag: `job:${job.id}`,
            maxBatch: this.#o.maxBatch,
            imageSlots: registry.imageSlots,
            frames: true,
            background: true,
            // Cancel, timeout, shutdown or a lost lease: frames not yet detected are skipped and queued faces
            // leave the batcher, for every chunk in flight.
            signal,
          });
        } catch (err) {
          // A full model queue is the photo requests' moment: a job waits and tries the chunk again.
          if (!(err instanceof ApiError && err.code === "overloaded") || signal.aborted) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    };
    // Chunks are analysed while ffmpeg decodes the next ones and while earlier chunks are stored (up to `depth`
    // at once), and stored strictly in order, so the frames stored are always a prefix and a restart resumes
    // after it.
    let stored: Promise<void> = Promise.resolve();
    const pending: Promise<void>[] = [];
    const flush = async () => {
      if (!chunk.length) return;
      const frames = chunk;
      chunk = [];
      const result = analyse(frames);
      result.catch(() => {}); // its error surfaces through `stored`, in order
      stored = stored.then(async () => {
        const { images } = await result;
        if (signal.aborted) return;
        analysed += frames.length;
        const rate = analysed / Math.max(1e-3, (performance.now() - t0) / 1000);
        const ok = await this.#o.store.appendFrames(
          job.id,
          next,
          images,
          Math.round(rate * 100) / 100,
          this.#o.store.shared ? this.worker : undefined,
        );
        if (!ok) {
          entry.controller.abort("lost");
          return;
        }
        next += frames.length;
        this.#wake(job.id);
      });
      stored.catch(() => {}); // handled here; awaited below and at the end, where an error fails the job
      pending.push(stored);
      while (pending.length >= depth) await pending.shift();
    };
    for await (
      const frame of decodeVideo(await this.#o.store.upload(job), {
        ffmpeg: this.#o.ffmpeg,
        fps: o.fps,
        start: o.start,
        end: o.end,
        width: job.frameSize.width,
        height: job.frameSize.height,
        skip: job.done,
        signal,
        onSpawn: (pid, exited) => {
          entry.pid = pid;
          entry.exited = exited;
        },
      })
    ) {
      if (signal.aborted) break;
      chunk.push(frame);
      if (chunk.length >= chunkFrames) await flush();
      if (signal.aborted) break;
    }
    if (!signal.aborted) await flush();
    // Aborted: the chunks in flight stop at their next check (the signal) and their results are dropped.
    if (!signal.aborted) await stored;
  }
}
