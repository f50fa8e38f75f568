/**
 * A progress display for `prepare`, `fit` and `eval`: a redrawn bar with rate and ETA on a terminal, plain
 * dated-free lines at a gentle interval otherwise (CI logs, `| tee`), always on stderr so stdout stays
 * machine-readable (JSON metrics, configs).
 */

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  label?: string;
  /** Unit word shown with the rate, e.g. "img". */
  unit?: string;
  /** Where text goes; default stderr. */
  write?: (text: string) => void;
  /** Redraw in place with a bar; default: whether stderr is a terminal. */
  isTty?: boolean;
  /** Minimum milliseconds between updates; default 100 on a terminal, 10,000 otherwise. */
  intervalMs?: number;
  /** Clock in milliseconds (tests inject one). */
  now?: () => number;
}

/** A running progress display. */
export interface Progress {
  /** Adds `n` (default 1) completed items and redraws if the interval has passed. */
  tick(n?: number): void;
  /** Prints the final state (always) and ends the line. */
  done(): void;
}

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

const encoder = new TextEncoder();

/**
 * Creates a progress display for `total` items (0 or less = unknown total: count and rate only). The rate is
 * the mean since start, which is steadier than an instantaneous rate for bursty batch work.
 */
export function createProgress(
  total: number,
  {
    label = "",
    unit = "it",
    write = (t: string) => Deno.stderr.writeSync(encoder.encode(t)),
    isTty = Deno.stderr.isTerminal(),
    intervalMs,
    now = () => performance.now(),
  }: ProgressOptions = {},
): Progress {
  const start = now();
  const every = intervalMs ?? (isTty ? 100 : 10_000);
  let count = 0;
  let drawn = -1;
  let last = -Infinity;
  let finished = false;

  function line(): string {
    const secs = (now() - start) / 1000;
    const rate = secs > 0 ? count / secs : 0;
    const rateText = `${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)} ${unit}/s`;
    const prefix = label ? `${label} ` : "";
    if (total <= 0) return `${prefix}${count} ${unit} ${rateText} elapsed ${formatDuration(secs)}`;
    const frac = Math.min(1, count / total);
    const eta = rate > 0 ? (total - count) / rate : NaN;
    const pct = `${(frac * 100).toFixed(0).padStart(3)}%`;
    const bar = isTty ? `[${"#".repeat(Math.round(frac * 24)).padEnd(24, ".")}] ` : "";
    return `${prefix}${bar}${count}/${total} ${pct} ${rateText} ETA ${formatDuration(eta)}`;
  }

  function draw() {
    last = now();
    drawn = count;
    write(isTty ? `\r${line()}\x1b[K` : `${line()}\n`);
  }

  return {
    tick(n = 1) {
      count += n;
      if (!finished && now() - last >= every) draw();
    },
    done() {
      if (finished) return;
      finished = true;
      // A plain log already showing the final count needs no repeat line.
      if (isTty || drawn !== count) draw();
      if (isTty) write("\n");
    },
  };
}
