/**
 * A counting semaphore (FIFO). The server uses one to bound how many images are decoded and run through face
 * detection at once: beyond the core count, more parallel images only add memory (a decoded 12 MP photo is 36 MB)
 * and make every request finish late instead of most finishing early.
 */

/** Permits for a bounded stage; `run` holds one for the duration of `fn`. */
export interface Semaphore {
  /** Runs `fn` holding a permit; a caller still waiting when `signal` aborts leaves the queue with its reason. */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Callers waiting for a permit. */
  readonly waiting: number;
}

/** Creates a semaphore with `permits` (at least 1). */
export function createSemaphore(permits: number): Semaphore {
  let free = Math.max(1, permits);
  const queue: (() => void)[] = [];
  return {
    async run(fn, signal) {
      signal?.throwIfAborted();
      if (free > 0) free--;
      else {
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => {
            // Not yet granted: leave the queue, so the permit goes to the next caller instead.
            const at = queue.indexOf(grant);
            if (at >= 0) queue.splice(at, 1);
            reject(signal!.reason);
          };
          const grant = () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          };
          queue.push(grant);
          signal?.addEventListener("abort", onAbort, { once: true });
        });
      }
      try {
        return await fn();
      } finally {
        const next = queue.shift();
        if (next) next();
        else free++;
      }
    },
    get waiting() {
      return queue.length;
    },
  };
}
