/**
 * A counting semaphore (FIFO). The server uses one to bound how many images are decoded and run through face
 * detection at once: beyond the core count, more parallel images only add memory (a decoded 12 MP photo is 36 MB)
 * and make every request finish late instead of most finishing early.
 */

/** Permits for a bounded stage; `run` holds one for the duration of `fn`. */
export interface Semaphore {
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Callers waiting for a permit. */
  readonly waiting: number;
}

/** Creates a semaphore with `permits` (at least 1). */
export function createSemaphore(permits: number): Semaphore {
  let free = Math.max(1, permits);
  const queue: (() => void)[] = [];
  return {
    async run(fn) {
      if (free > 0) free--;
      else await new Promise<void>((r) => queue.push(r));
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
