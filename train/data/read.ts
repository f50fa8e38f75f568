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
import { DEFAULT_LABELS, type ReaderOptions, type ReadResult } from "./sample.ts";

/** How one dataset format is read: its reader, the split it reads when none is named, and a one-line summary. */
export interface Reader {
  read: (root: string, options: ReaderOptions) => Promise<ReadResult>;
  defaultSplit: string;
  description: string;
}

/**
 * Every dataset reader, by the name written in configs and on the command line (`--dataset rafdb:...`). The
 * reader-name type, the config's zod enum and the CLI help derive from this table: a new reader is one entry
 * here plus its file.
 */
export const READERS = {
  affwild2: {
    read: readAffWild2,
    defaultSplit: "train",
    description: "Aff-Wild2 EXPR per-frame annotations (ABAW 2020 and ABAW3+ layouts)",
  },
  affectnet: {
    read: readAffectNet,
    defaultSplit: "train",
    description: "AffectNet training.csv / validation.csv with face boxes",
  },
  rafdb: { read: readRafDb, defaultSplit: "train", description: "RAF-DB basic, aligned or original images" },
  expw: { read: readExpW, defaultSplit: "all", description: "ExpW label.lst with face boxes" },
  fer2013: {
    read: readFer2013,
    defaultSplit: "train",
    description: "FER2013 csv of inline 48x48 gray pixels",
  },
  folder: {
    read: readFolder,
    defaultSplit: "train",
    description: "one folder per class, [<split>/]<label>/*",
  },
  prepared: { read: readPrepared, defaultSplit: "all", description: "the output of deno task train prepare" },
} as const satisfies Record<string, Reader>;

/** A reader name: a key of {@link READERS}. */
export type ReaderName = keyof typeof READERS;

/** Reader names, in table order. */
export const READER_NAMES = Object.keys(READERS) as [ReaderName, ...ReaderName[]];

/** Where one dataset split lives and how to read it. Reader-specific options are passed through. */
export interface DatasetSource {
  reader: ReaderName;
  root: string;
  split?: string;
  /** affwild2: annotationsDir, imagesDir; affectnet: csv, imagesDir, checkImages; rafdb: images; expw: minConfidence. */
  options?: Record<string, unknown>;
}

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
  const reader: Reader | undefined = Object.hasOwn(READERS, source.reader)
    ? READERS[source.reader]
    : undefined;
  if (!reader) {
    throw new Error(`Cannot read dataset: reader is "${source.reader}", expected one of ${READER_NAMES}`);
  }
  const split = source.split ?? reader.defaultSplit;
  return await reader.read(source.root, { ...source.options, split, labels });
}

/**
 * Parses the CLI shorthand `reader:root[:split]`, e.g. `rafdb:/data/RAF-DB/basic:test`. The root may itself
 * contain colons only if a split is given last (the last segment is taken as split when it has no slash).
 */
export function parseDatasetArg(arg: string): DatasetSource {
  const first = arg.indexOf(":");
  const reader = arg.slice(0, first);
  if (first < 0 || !Object.hasOwn(READERS, reader)) {
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
