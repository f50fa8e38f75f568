/**
 * One entry point for every dataset reader, keyed by the reader name used in the recipe config and the CLI
 * (`--dataset rafdb:/data/RAF-DB:train`). Keeps the per-format readers free of config knowledge.
 */
import { readAffectNet } from "./affectnet.ts";
import { readAffWild2 } from "./affwild2.ts";
import { readExpW } from "./expw.ts";
import { readFer2013 } from "./fer2013.ts";
import { readFolder } from "./folder.ts";
import { readPrepared } from "./prepared.ts";
import { readRafDb } from "./rafdb.ts";
import { DEFAULT_LABELS, type ReadResult } from "./sample.ts";

/** Reader names, as written in configs and on the command line. */
export const READER_NAMES = [
  "affwild2",
  "affectnet",
  "rafdb",
  "expw",
  "fer2013",
  "folder",
  "prepared",
] as const;
export type ReaderName = (typeof READER_NAMES)[number];

/** Where one dataset split lives and how to read it. Reader-specific options are passed through. */
export interface DatasetSource {
  reader: ReaderName;
  root: string;
  split?: string;
  /** affwild2: annotationsDir, imagesDir; affectnet: csv, imagesDir, checkImages; rafdb: images; expw: minConfidence. */
  options?: Record<string, unknown>;
}

const DEFAULT_SPLIT: Record<ReaderName, string> = {
  affwild2: "train",
  affectnet: "train",
  rafdb: "train",
  expw: "all",
  fer2013: "train",
  folder: "train",
  prepared: "all",
};

/**
 * A dataset root that does not exist: the command line or the config names a wrong path (e.g. init-config's
 * example roots left unedited). The CLI answers it as a usage error (exit 2); readers' own errors about what is
 * inside an existing root are data errors (exit 1).
 */
export class DatasetNotFoundError extends Error {
  override name = "DatasetNotFoundError";
}

/**
 * Throws {@link DatasetNotFoundError} (`Cannot read dataset "affwild2": folder "/data/Aff-Wild2" does not
 * exist`) when a source's root does not exist, so that is said plainly instead of a reader listing the sub-paths
 * it looked for. Lets a command check every configured root before it starts any work.
 */
export async function checkDatasetRoot(source: Pick<DatasetSource, "reader" | "root">): Promise<void> {
  try {
    await Deno.stat(source.root);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    // FER2013's root may be the csv itself.
    const kind = source.reader === "fer2013" && source.root.endsWith(".csv") ? "file" : "folder";
    throw new DatasetNotFoundError(
      `Cannot read dataset "${source.reader}": ${kind} "${source.root}" does not exist`,
    );
  }
}

/**
 * Reads one dataset split with the reader it names; `labels` is the run's class list. A root that does not
 * exist throws {@link DatasetNotFoundError} (see {@link checkDatasetRoot}) before any reader runs.
 */
export async function readDataset(
  source: DatasetSource,
  { labels = DEFAULT_LABELS }: { labels?: readonly string[] } = {},
): Promise<ReadResult> {
  await checkDatasetRoot(source);
  const split = source.split ?? DEFAULT_SPLIT[source.reader];
  const opts = { ...source.options, split, labels };
  switch (source.reader) {
    case "affwild2":
      return await readAffWild2(source.root, opts);
    case "affectnet":
      return await readAffectNet(source.root, opts);
    case "rafdb":
      return await readRafDb(source.root, opts);
    case "expw":
      return await readExpW(source.root, opts);
    case "fer2013":
      return await readFer2013(source.root, opts);
    case "folder":
      return await readFolder(source.root, opts);
    case "prepared":
      return await readPrepared(source.root, opts);
    default:
      throw new Error(`Cannot read dataset: reader is "${source.reader}", expected one of ${READER_NAMES}`);
  }
}

/**
 * Parses the CLI shorthand `reader:root[:split]`, e.g. `rafdb:/data/RAF-DB/basic:test`. The root may itself
 * contain colons only if a split is given last (the last segment is taken as split when it has no slash).
 */
export function parseDatasetArg(arg: string): DatasetSource {
  const first = arg.indexOf(":");
  const reader = arg.slice(0, first);
  if (first < 0 || !(READER_NAMES as readonly string[]).includes(reader)) {
    throw new Error(
      `Cannot parse dataset "${arg}": expected <reader>:<root>[:<split>] with reader one of ${
        READER_NAMES.join(", ")
      }`,
    );
  }
  let root = arg.slice(first + 1);
  let split: string | undefined;
  const last = root.lastIndexOf(":");
  if (last >= 0 && !root.slice(last + 1).includes("/")) {
    split = root.slice(last + 1);
    root = root.slice(0, last);
  }
  if (root === "") throw new Error(`Cannot parse dataset "${arg}": root folder is empty`);
  return { reader: reader as ReaderName, root, split };
}
