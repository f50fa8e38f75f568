/**
 * The process's open-file limit (RLIMIT_NOFILE), read from `/proc/self/limits`, and the connection cap it allows.
 * Deno raises its soft limit to the hard limit itself at start (measured with 2.9.6: under `ulimit -Sn 100` a
 * Deno process reports 20000 = the hard limit), so there is nothing left to raise here; what matters is that open
 * connections stay far enough below the limit that an `accept` never fails with EMFILE: Deno's Node `net` server
 * stops accepting for good after one (measured: no new connection was served after the fds were freed).
 */

/** The soft and hard open-file limits; `undefined` where they cannot be read (not Linux, no read permission). */
export interface FdLimit {
  soft: number;
  hard: number;
}

/** Parses the "Max open files" line of a `/proc/<pid>/limits` text ("unlimited" counts as infinite). */
export function parseFdLimit(text: string): FdLimit | undefined {
  const m = text.match(/^Max open files\s+(\S+)\s+(\S+)/m);
  if (!m) return undefined;
  const n = (s: string) => s === "unlimited" ? Infinity : Number(s);
  const soft = n(m[1]), hard = n(m[2]);
  return Number.isNaN(soft) || Number.isNaN(hard) ? undefined : { soft, hard };
}

/**
 * This process's open-file limit, or `undefined` where it cannot be read. Deno lets only `--allow-all` read
 * `/proc/self/limits`, so under the start task's narrower permissions the limit comes from a child shell's
 * `ulimit` (a child inherits the limits, including the soft limit Deno raised).
 */
export function readFdLimit(path = "/proc/self/limits"): FdLimit | undefined {
  try {
    return parseFdLimit(Deno.readTextFileSync(path));
  } catch {
    return shellFdLimit();
  }
}

/** The limits as `sh -c "ulimit -Sn; ulimit -Hn"` reports them; `undefined` without a shell or run permission. */
function shellFdLimit(): FdLimit | undefined {
  try {
    const out = new Deno.Command("sh", { args: ["-c", "ulimit -Sn; ulimit -Hn"], stderr: "null" })
      .outputSync();
    if (!out.success) return undefined;
    const [soft, hard] = new TextDecoder().decode(out.stdout).trim().split(/\s+/);
    return parseFdLimit(`Max open files ${soft} ${hard} files`);
  } catch {
    return undefined;
  }
}

/**
 * File descriptors kept free of connections: model files, onnxruntime and sharp threads, the listening socket,
 * logs, and the short-lived sockets refused over the cap (each holds an fd until its 503 is written).
 */
export const FD_RESERVE = 64;

/**
 * The connection cap actually applied: `configured`, lowered to leave `FD_RESERVE` descriptors free under the
 * soft limit (at least 1).
 */
export function connectionCap(configured: number, limit: FdLimit | undefined): number {
  if (!limit || !Number.isFinite(limit.soft)) return configured;
  return Math.max(1, Math.min(configured, limit.soft - FD_RESERVE));
}
