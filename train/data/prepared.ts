/**
 * Reader for the output of `deno task train prepare`: `<dir>/manifest.jsonl`, one JSON object per aligned
 * 224x224 crop. Labels are stored by name, so a prepared folder can be read with any class list.
 */
import { join } from "node:path";
import {
  createSkipCounter,
  DataFormatError,
  DEFAULT_LABELS,
  labelIndex,
  type ReaderOptions,
  type ReadResult,
  readText,
  type Sample,
  splitLines,
} from "./sample.ts";

/** One line of a prepared manifest. `path` is relative to the manifest's folder. */
export interface PreparedEntry {
  key: string;
  /** Relative image path; "" when the item was skipped (see `skip`). */
  path: string;
  label: string;
  dataset: string;
  split: string;
  source: string;
  /** Why no crop was written (e.g. "no face found"); such lines let a resumed run skip the item too. */
  skip?: string;
  /** How the crop was made: "aligned" (five-point landmarks) or "box" (crop of the face box). */
  method?: string;
}

/** Parses one manifest line, naming `file:line` when it is not a complete entry. */
export function parsePreparedLine(text: string, file: string, line: number): PreparedEntry {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new DataFormatError(file, line, `line is not JSON: "${text.slice(0, 60)}"`);
  }
  const e = v as Record<string, unknown>;
  for (const k of ["key", "path", "label", "dataset", "split", "source"]) {
    if (typeof e?.[k] !== "string") throw new DataFormatError(file, line, `field "${k}" is missing`);
  }
  return e as unknown as PreparedEntry;
}

/**
 * Reads a prepared folder (`root/manifest.jsonl`, written by `prepare --merge` or an unsharded `prepare`).
 * `split` filters on the recorded split unless it is "all". Samples come sorted by key, whatever the order
 * in which prepare's workers finished.
 */
export async function readPrepared(
  root: string,
  { split = "all", labels = DEFAULT_LABELS }: ReaderOptions = {},
): Promise<ReadResult> {
  const file = join(root, "manifest.jsonl");
  const lines = splitLines(await readText(file));
  const entries: PreparedEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "") entries.push(parsePreparedLine(lines[i], file, i + 1));
  }
  // Workers finish out of order; sorting by key makes the sample list (and so the mix) deterministic.
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const samples: Sample[] = [];
  const skipped = createSkipCounter();
  for (const e of entries) {
    if (split !== "all" && e.split !== split) continue;
    if (e.skip) {
      skipped.add(`prepare: ${e.skip}`);
      continue;
    }
    const label = labelIndex(e.label, labels);
    if (label < 0) {
      skipped.add(`class "${e.label}" not in the run's labels`);
      continue;
    }
    samples.push({ path: join(root, e.path), label, dataset: e.dataset, split: e.split, source: e.source });
  }
  return { samples, skipped: skipped.list() };
}
