/**
 * Lowers the scheduling priority (raises the nice value) of every thread of this process except the main one,
 * which runs the event loop and answers `/healthz`. On Linux the nice value is per thread, so onnxruntime's pool
 * threads, libvips' workers and Deno's blocking pool can run at `nice` while the main thread keeps its own: when the
 * event loop wakes on a 2-core machine busy with model runs, the kernel runs it first. Raising a nice value needs no
 * privilege. Deno lets only `--allow-all` read `/proc/self/task`, so a child shell lists the thread ids (it may read
 * its parent's `/proc/<pid>/task`), and `node:os` `setPriority` (Linux `setpriority(PRIO_PROCESS, tid)`) applies
 * the value to each thread. Threads appear later too (libvips and Deno's blocking pool start them on demand and
 * a new thread inherits its creator's nice value), so the scan repeats.
 */
import { setPriority } from "node:os";

/** Where to apply a nice value, and how often to look for new threads. */
export interface ThreadPriorityOptions {
  /** Nice value for every thread but the main one (1-19; 0 does nothing). */
  nice: number;
  /** Rescan period in ms (0: once). */
  everyMs?: number;
  /** Called when a scan fails (not Linux, no shell): the server runs on at equal priority. */
  onError?: (err: Error) => void;
}

/** Thread ids of process `pid` other than its main thread, listed by a child shell. */
export async function listOtherThreads(pid = Deno.pid): Promise<number[]> {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `ls /proc/${pid}/task`],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error(`Cannot list threads: /proc/${pid}/task unreadable`);
  return new TextDecoder().decode(out.stdout).split(/\s+/).filter(Boolean).map(Number)
    .filter((tid) => Number.isInteger(tid) && tid !== pid);
}

/** One pass: sets `nice` on every thread but the main one; returns how many threads it set. */
export async function lowerOtherThreads(nice: number): Promise<number> {
  let n = 0;
  for (const tid of await listOtherThreads()) {
    try {
      setPriority(tid, nice);
      n++;
    } catch {
      // The thread exited between the listing and now.
    }
  }
  return n;
}

/** Starts lowering the other threads' priority now and every `everyMs`; returns a stop function. */
export function keepOtherThreadsLow({ nice, everyMs = 2000, onError }: ThreadPriorityOptions): () => void {
  if (nice <= 0 || Deno.build.os !== "linux") return () => {};
  let reported = false;
  const scan = () =>
    lowerOtherThreads(nice).catch((err) => {
      if (!reported) onError?.(err as Error);
      reported = true;
    });
  void scan();
  if (!everyMs) return () => {};
  const timer = setInterval(scan, everyMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
