/**
 * JSON-lines logging to stdout with a level filter. One line per event: `{"time","level","msg",...fields}`.
 * Callers pass metadata only (ids, sizes, timings); image bytes never reach a log line.
 */

/** The log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A structured logger; `child` adds fixed fields (e.g. a request id) to every line. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/**
 * Creates a logger writing lines at or above `level` through `write` (stdout by default; tests pass an array
 * push). Errors in fields are reduced to their message so stack traces and payloads stay out of the line.
 */
export function createLogger(
  { level = "info", write = (line: string) => console.log(line), base = {} }: {
    level?: LogLevel;
    write?: (line: string) => void;
    base?: Record<string, unknown>;
  } = {},
): Logger {
  function emit(l: LogLevel, msg: string, fields: Record<string, unknown> = {}) {
    if (RANK[l] < RANK[level]) return;
    const out: Record<string, unknown> = { time: new Date().toISOString(), level: l, msg, ...base };
    for (const [k, v] of Object.entries(fields)) {
      out[k] = v instanceof Error ? v.message : v;
    }
    write(JSON.stringify(out));
  }
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger({ level, write, base: { ...base, ...fields } }),
  };
}
