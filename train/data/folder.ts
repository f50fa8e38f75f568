/**
 * Plain folder-per-class reader: `<root>/[<split>/]<label name>/*.{jpg,jpeg,png,webp}`. Folder names are
 * matched case-insensitively with model/spec.ts synonyms (`happy` -> happiness, `angry` -> anger), so most
 * Kaggle-style exports work unchanged.
 */
import { join } from "node:path";
import { CANONICAL_LABELS, canonicalIndex } from "../../model/spec.ts";
import {
  createSkipCounter,
  DEFAULT_LABELS,
  exists,
  labelIndex,
  type ReaderOptions,
  type ReadResult,
  type Sample,
} from "./sample.ts";

const IMAGE = /\.(jpe?g|png|webp)$/i;

/** Canonical (or extra, e.g. "contempt") name of a class folder, or null when it names no known class. */
function className(folder: string, labels: readonly string[]): string | null {
  const i = canonicalIndex(folder);
  if (i >= 0) return CANONICAL_LABELS[i];
  const n = folder.trim().toLowerCase();
  return labels.includes(n) || n === "other" || n === "contempt" ? n : null;
}

/**
 * Reads a folder-per-class dataset. When `<root>/<split>` exists it is used, else `<root>` itself (the split
 * name is then just recorded). Unknown folder names are an error naming the folder; non-image files are
 * counted as skipped; classes outside `labels` are dropped and counted.
 */
export async function readFolder(
  root: string,
  { split = "train", labels = DEFAULT_LABELS }: ReaderOptions = {},
): Promise<ReadResult> {
  const base = await exists(join(root, split)) ? join(root, split) : root;
  const folders: string[] = [];
  try {
    for await (const e of Deno.readDir(base)) if (e.isDirectory) folders.push(e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot read folder dataset: "${base}" not found`);
    }
    throw err;
  }
  folders.sort();
  if (folders.length === 0) throw new Error(`Cannot read folder dataset "${base}": it has no class folders`);
  const samples: Sample[] = [];
  const skipped = createSkipCounter();
  for (const folder of folders) {
    const name = className(folder, labels);
    if (name === null) {
      throw new Error(
        `Cannot read folder dataset "${base}": class folder "${folder}" is not a label ` +
          `(expected one of ${CANONICAL_LABELS.join(", ")} or a synonym)`,
      );
    }
    const label = labelIndex(name, labels);
    const files: string[] = [];
    for await (const e of Deno.readDir(join(base, folder))) if (e.isFile) files.push(e.name);
    files.sort();
    for (const f of files) {
      if (!IMAGE.test(f)) {
        skipped.add("not an image file");
        continue;
      }
      if (label < 0) {
        skipped.add(`class "${name}" not in the run's labels`);
        continue;
      }
      const path = join(base, folder, f);
      samples.push({ path, label, dataset: "folder", split, source: `${path}:0` });
    }
  }
  return { samples, skipped: skipped.list() };
}
