/**
 * Dynamic micro-batching in the manner of Triton's dynamic batcher and KServe's batcher: items from all callers
 * queue up, a batch runs when `maxBatch` items wait or the oldest has waited `maxDelayMs`, and every item gets
 * exactly its own result. One batch runs at a time per batcher (one model session), so items arriving during a
 * run form the next batch. The queue is bounded (admission is all-or-nothing per call: 503 `overloaded`), and
 * items whose deadline passed while queued are answered 504 without running.
 */
import { ApiError } from "./errors.ts";

/** Called after every model run (metrics, tests). */
export interface BatchInfo {
  size: number;
  /** Distinct callers (`tag`s) whose items shared this run. */
  callers: number;
  ms: number;
  ok: boolean;
}

/** The runner and limits of a micro-batcher. */
export interface BatcherOptions<I, O> {
  /** Runs one batch; must return one output per input, in order. */
  run: (items: I[]) => Promise<O[]>;
  maxBatch?: number;
  maxDelayMs?: number;
  /** Most items waiting (not yet running); beyond it `submit` refuses the whole call. */
  maxQueue?: number;
  onBatch?: (info: BatchInfo) => void;
}

/** Per-call options of `submit`: deadline, caller tag and a run observer. */
export interface SubmitOptions {
  /** `performance.now()` time after which a still-queued item is dropped with 504. */
  deadline?: number;
  /** Caller identity for the `callers` count (e.g. the request id). */
  tag?: string;
  /** Called with `performance.now()` start and end of every model run that holds some of these items. */
  onRun?: (start: number, end: number) => void;
  /** Background work (video jobs): a batch takes every waiting foreground item before any of these. */
  background?: boolean;
  /**
   * The caller gave up (client gone, deadline): its items still waiting leave the queue at once, rejected with
   * the signal's reason, so no model run starts for them. Items already in a running batch finish.
   */
  signal?: AbortSignal;
}

/** The batcher handle shared by all requests for one model. */
export interface Batcher<I, O> {
  /**
   * Queues items; returns one promise per item. Throws 503 `overloaded` if they do not all fit now, 413
   * `payload_too_large` if they could never fit (more items than `maxQueue`).
   */
  submit(items: I[], options?: SubmitOptions): Promise<O>[];
  /** Items waiting (not counting the batch being run). */
  readonly depth: number;
  /** Resolves when the queue is empty and no batch is running. */
  idle(): Promise<void>;
}

interface Pending<I, O> {
  item: I;
  at: number;
  deadline: number;
  tag: string;
  onRun?: (start: number, end: number) => void;
  background: boolean;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

/**
 * Creates a batcher. Defaults follow the Triton advice for a single GPU model: batches up to 32, a short 2 ms
 * wait so concurrent requests coalesce without adding visible latency.
 */
export function createBatcher<I, O>(
  { run, maxBatch = 32, maxDelayMs = 2, maxQueue = 2048, onBatch }: BatcherOptions<I, O>,
): Batcher<I, O> {
  const queue: Pending<I, O>[] = [];
  let running = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let idleWaiters: (() => void)[] = [];

  function schedule() {
    if (running || queue.length === 0) return;
    const wait = queue.length >= maxBatch ? 0 : Math.max(0, queue[0].at + maxDelayMs - performance.now());
    if (wait <= 0) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      queueMicrotask(flush);
    } else if (timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        flush();
      }, wait);
    }
  }

  async function runIsolated(batch: Pending<I, O>[]): Promise<boolean> {
    try {
      const out = await run(batch.map((p) => p.item));
      if (out.length !== batch.length) {
        throw new Error(`Cannot run batch: model returned ${out.length} results for ${batch.length} items`);
      }
      batch.forEach((p, i) => p.resolve(out[i]));
      return true;
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return false;
      }
      // One bad item must not fail its neighbours: retry each alone.
      for (const p of batch) await runIsolated([p]);
      return false;
    }
  }

  async function flush() {
    if (running || queue.length === 0) return;
    running = true;
    const now = performance.now();
    const batch: Pending<I, O>[] = [];
    // Foreground first, each kind in arrival order (the sort is stable): jobs never hold up photo requests.
    if (queue.some((p) => p.background)) queue.sort((a, b) => Number(a.background) - Number(b.background));
    while (queue.length && batch.length < maxBatch) {
      const p = queue.shift()!;
      if (p.deadline < now) {
        p.reject(
          new ApiError("deadline_exceeded", "Cannot classify face: the request deadline passed in the queue"),
        );
      } else batch.push(p);
    }
    if (batch.length) {
      const t0 = performance.now();
      const ok = await runIsolated(batch);
      const t1 = performance.now();
      for (const f of new Set(batch.map((p) => p.onRun))) f?.(t0, t1);
      onBatch?.({
        size: batch.length,
        callers: new Set(batch.map((p) => p.tag)).size,
        ms: performance.now() - t0,
        ok,
      });
    }
    running = false;
    if (queue.length) schedule();
    else release();
  }

  /** Wakes the `idle()` waiters (nothing queued, nothing running). */
  function release() {
    if (!idleWaiters.length) return;
    const w = idleWaiters;
    idleWaiters = [];
    w.forEach((f) => f());
  }

  return {
    submit(items, { deadline = Infinity, tag = "", onRun, background = false, signal } = {}) {
      signal?.throwIfAborted();
      if (items.length > maxQueue) {
        // Could never fit, however long the client waits: not retryable, unlike the 503 below.
        throw new ApiError(
          "payload_too_large",
          `Cannot queue ${items.length} face(s): more than the queue holds (MAX_QUEUE=${maxQueue})`,
        );
      }
      if (queue.length + items.length > maxQueue) {
        throw new ApiError(
          "overloaded",
          `Cannot queue ${items.length} face(s): ${queue.length} of ${maxQueue} queue slots are taken`,
          { retryAfterSeconds: 1 },
        );
      }
      const at = performance.now();
      const mine: Pending<I, O>[] = [];
      const promises = items.map((item) =>
        new Promise<O>((resolve, reject) => {
          const p = { item, at, deadline, tag, onRun, background, resolve, reject };
          mine.push(p);
          queue.push(p);
        })
      );
      if (signal) {
        const onAbort = () => {
          for (const p of mine) {
            const i = queue.indexOf(p);
            if (i < 0) continue; // running or done
            queue.splice(i, 1);
            p.reject(signal.reason);
          }
          if (!running && queue.length === 0) release();
        };
        signal.addEventListener("abort", onAbort, { once: true });
        Promise.allSettled(promises).then(() => signal.removeEventListener("abort", onAbort));
      }
      schedule();
      return promises;
    },
    get depth() {
      return queue.length;
    },
    idle() {
      if (!running && queue.length === 0) return Promise.resolve();
      return new Promise((r) => idleWaiters.push(r));
    },
  };
}
