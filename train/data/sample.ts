/**
 * The one sample type every dataset reader returns, and the small helpers readers share: the error that names
 * `file:line`, the skip counter, and the label lookup against the run's class list. A sample's `label` is an
 * index into that class list, which defaults to the canonical seven (model/spec.ts CANONICAL_LABELS), so for
 * the default list it is the canonical index.
 */
import { CANONICAL_LABELS } from "../../model/spec.ts";
import type { RawPixels } from "../../model/preprocess.ts";
import type { Box } from "../../src/mod.ts";

/** One labelled face image. */
export interface Sample {
  /** Image file; for FER2013 (pixels in the csv) it is `<csv>#<line>` and `pixels` holds the image. */
  path: string;
  /** Index into the run's label list (canonical index for the default seven-class list). */
  label: number;
  /** Reader name, e.g. "affwild2". */
  dataset: string;
  /** Split name as requested, e.g. "train", "val", "test". */
  split: string;
  /** Face box inside `path` (source-image pixels, x, y = top-left), when the dataset ships full scenes. */
  box?: Box;
  /** Where the label came from, `file:line`, for error messages and stable keys. */
  source: string;
  /** Decoded pixels for datasets that carry them inline (FER2013: 48x48 gray). */
  pixels?: RawPixels;
}

/** A skip reason and how many lines or frames it dropped. */
export interface SkipCount {
  reason: string;
  count: number;
}

/** What every reader returns. */
export interface ReadResult {
  samples: Sample[];
  skipped: SkipCount[];
}

/** Options every reader accepts. */
export interface ReaderOptions {
  /** Split to read; each reader documents its names. */
  split?: string;
  /**
   * The run's class list; a native class whose canonical name is not in it is dropped and counted. The default
   * is the canonical seven; add "other" (Aff-Wild2 ABAW3+) or "contempt" (AffectNet 7) to keep those classes.
   */
  labels?: readonly string[];
}

/** A malformed annotation line; the message names `file:line` and the offending value. */
export class DataFormatError extends Error {
  constructor(file: string, line: number, problem: string) {
    super(`Cannot read "${file}:${line}": ${problem}`);
    this.name = "DataFormatError";
  }
}

/** Counts skips by reason, keeping first-seen order so reports are stable. */
export function createSkipCounter(): { add(reason: string, n?: number): void; list(): SkipCount[] } {
  const counts = new Map<string, number>();
  return {
    add(reason: string, n = 1) {
      if (n > 0) counts.set(reason, (counts.get(reason) ?? 0) + n);
    },
    list: () => [...counts].map(([reason, count]) => ({ reason, count })),
  };
}

/** The default class list: the canonical seven. */
export const DEFAULT_LABELS: readonly string[] = CANONICAL_LABELS;

/** Index of a canonical label name in the run's list, or -1 when the run does not train that class. */
export function labelIndex(name: string, labels: readonly string[] = DEFAULT_LABELS): number {
  return labels.indexOf(name);
}

/** Reads a text file, naming it in the error (missing files are the commonest user mistake). */
export async function readText(file: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(`Cannot read "${file}": file not found`);
    throw new Error(`Cannot read "${file}": ${(err as Error).message}`);
  }
}

/**
 * Splits text into lines, tolerating CRLF and trailing blank lines (editors and `echo >>` leave them); a blank
 * line in the middle stays and is reported by the reader. Line numbers are index + 1.
 */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  return lines;
}

/** Parses a whole integer field or throws a DataFormatError naming the column. */
export function parseIntField(value: string, file: string, line: number, column: string): number {
  const v = value.trim();
  if (!/^-?\d+$/.test(v)) throw new DataFormatError(file, line, `${column} is "${v}", expected an integer`);
  return Number(v);
}

/** Parses a number field (integer or decimal) or throws a DataFormatError naming the column. */
export function parseNumberField(value: string, file: string, line: number, column: string): number {
  const v = value.trim();
  const n = Number(v);
  if (v === "" || !Number.isFinite(n)) {
    throw new DataFormatError(file, line, `${column} is "${v}", expected a number`);
  }
  return n;
}

/** Lists file names in a folder (a Set for O(1) joins), or null when the folder does not exist. */
export async function listFiles(dir: string): Promise<Set<string> | null> {
  try {
    const names = new Set<string>();
    for await (const e of Deno.readDir(dir)) if (e.isFile || e.isSymlink) names.add(e.name);
    return names;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** True when the path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
