/**
 * Aff-Wild2 EXPR reader (ABAW 2020 and ABAW3+ layouts). Each `<video>.txt` starts with a header naming the
 * classes (`Neutral,...,Surprise` or with `,Other`), then one label per frame: line k (k >= 2) is frame k-1,
 * 1-based, matching `cropped_aligned/<video>/<%05d>.jpg`. Labels are joined to images by frame number because
 * frames with no detected face are missing from `cropped_aligned`.
 */
import { join } from "node:path";
import { LABEL_ORDERS, OTHER_LABEL } from "../../model/spec.ts";
import {
  createSkipCounter,
  DataFormatError,
  DEFAULT_LABELS,
  exists,
  labelIndex,
  listFiles,
  parseIntField,
  type ReaderOptions,
  type ReadResult,
  readText,
  type Sample,
  splitLines,
} from "./sample.ts";

/** Options of {@link readAffWild2}. */
export interface AffWild2Options extends ReaderOptions {
  /** Annotation folder of the split; found under `root` when omitted (both ABAW layouts). */
  annotationsDir?: string;
  /** Frame folder holding `<video>/<%05d>.jpg`; default `<root>/cropped_aligned`. */
  imagesDir?: string;
}

const SPLIT_DIRS: Record<string, string[]> = {
  train: [
    "annotations/EXPR_Set/Training_Set",
    "EXPR_Set/Training_Set",
    "EXPR_Classification_Challenge/Train_Set",
    "annotations/EXPR_Classification_Challenge/Train_Set",
    "EXPR_Recognition_Challenge/Train_Set",
    "annotations/EXPR_Recognition_Challenge/Train_Set",
  ],
  val: [
    "annotations/EXPR_Set/Validation_Set",
    "EXPR_Set/Validation_Set",
    "EXPR_Classification_Challenge/Validation_Set",
    "annotations/EXPR_Classification_Challenge/Validation_Set",
    "EXPR_Recognition_Challenge/Validation_Set",
    "annotations/EXPR_Recognition_Challenge/Validation_Set",
  ],
};

const HEADER7 = LABEL_ORDERS.affwild2.join(",");

async function findAnnotationDir(root: string, split: string): Promise<string> {
  const candidates = SPLIT_DIRS[split];
  if (!candidates) {
    throw new Error(`Cannot read Aff-Wild2: split is "${split}", expected one of ${Object.keys(SPLIT_DIRS)}`);
  }
  for (const rel of candidates) if (await exists(join(root, rel))) return join(root, rel);
  throw new Error(
    `Cannot read Aff-Wild2 split "${split}": none of ${candidates.map((c) => `"${c}"`).join(", ")} ` +
      `exists under "${root}"`,
  );
}

/** Parses the header line; returns the native class names in file order (7 or 8 with "other"). */
function parseHeader(line: string, file: string): string[] {
  const names = line.split(",").map((s) => s.trim().toLowerCase());
  const joined = names.join(",");
  if (joined === HEADER7) return names;
  if (joined === `${HEADER7},${OTHER_LABEL}`) return names;
  throw new DataFormatError(
    file,
    1,
    `header is "${line.trim()}", expected "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise[,Other]"`,
  );
}

/**
 * Reads one Aff-Wild2 EXPR split. Splits: "train", "val". Frames labelled -1 are skipped and counted; the
 * eighth class `Other` (ABAW3+) is dropped and counted unless "other" is in `labels`. Missing frame images are
 * skipped and counted, never an error, because the organisers' crops omit faceless frames by design.
 */
export async function readAffWild2(
  root: string,
  { split = "train", labels = DEFAULT_LABELS, annotationsDir, imagesDir }: AffWild2Options = {},
): Promise<ReadResult> {
  const annDir = annotationsDir ?? await findAnnotationDir(root, split);
  const frameDir = imagesDir ?? join(root, "cropped_aligned");
  const files: string[] = [];
  for await (const e of Deno.readDir(annDir)) if (e.isFile && e.name.endsWith(".txt")) files.push(e.name);
  files.sort();
  const samples: Sample[] = [];
  const skipped = createSkipCounter();
  for (const name of files) {
    const file = join(annDir, name);
    const video = name.slice(0, -4);
    const lines = splitLines(await readText(file));
    if (lines.length === 0) throw new DataFormatError(file, 1, "file is empty, expected a header line");
    const native = parseHeader(lines[0], file);
    const classIndex = native.map((n) => labelIndex(n, labels));
    const frames = await listFiles(join(frameDir, video));
    for (let k = 1; k < lines.length; k++) {
      const v = parseIntField(lines[k], file, k + 1, "label");
      if (v === -1) {
        skipped.add("label -1 (unannotated)");
        continue;
      }
      if (v < 0 || v >= native.length) {
        throw new DataFormatError(file, k + 1, `label is "${v}", expected -1..${native.length - 1}`);
      }
      const label = classIndex[v];
      if (label < 0) {
        skipped.add(`class "${native[v]}" not in the run's labels`);
        continue;
      }
      const image = `${String(k).padStart(5, "0")}.jpg`;
      if (!frames?.has(image)) {
        skipped.add("frame image missing");
        continue;
      }
      samples.push({
        path: join(frameDir, video, image),
        label,
        dataset: "affwild2",
        split,
        source: `${file}:${k + 1}`,
      });
    }
  }
  return { samples, skipped: skipped.list() };
}
