/**
 * AffectNet reader (original distribution): `training.csv` / `validation.csv` with columns
 * `subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal`.
 * `facial_landmarks` is one field of `;`-separated numbers, so a row splits into exactly nine comma fields.
 * The header line is optional (the reference code skips it in one file and not the other).
 */
import { dirname, join } from "node:path";
import { LABEL_ORDERS } from "../../model/spec.ts";
import {
  createSkipCounter,
  DataFormatError,
  DEFAULT_LABELS,
  exists,
  labelIndex,
  listFiles,
  parseIntField,
  parseNumberField,
  type ReaderOptions,
  type ReadResult,
  readText,
  type Sample,
  splitLines,
} from "./sample.ts";

/** Options of {@link readAffectNet}. */
export interface AffectNetOptions extends ReaderOptions {
  /** The csv to read; default `<root>/[Manually_Annotated_file_lists/]{training,validation}.csv`. */
  csv?: string;
  /** Folder that `subDirectory_filePath` is relative to; default `<root>/Manually_Annotated_Images`. */
  imagesDir?: string;
  /** Skip rows whose image file is absent (one directory listing per sub-folder). Default true. */
  checkImages?: boolean;
}

/** AffectNet codes 0..10: 0-6 the canonical seven, 7 contempt, 8-10 are not expressions. */
const NATIVE = [...LABEL_ORDERS.affectnet, "contempt"];
const NON_EXPRESSIONS: Record<number, string> = { 8: "None", 9: "Uncertain", 10: "No-Face" };
const CSV: Record<string, string> = { train: "training.csv", val: "validation.csv" };

async function findCsv(root: string, split: string): Promise<string> {
  const name = CSV[split];
  if (!name) throw new Error(`Cannot read AffectNet: split is "${split}", expected one of train, val`);
  for (const rel of [join("Manually_Annotated_file_lists", name), name]) {
    if (await exists(join(root, rel))) return join(root, rel);
  }
  throw new Error(`Cannot read AffectNet split "${split}": "${name}" not found under "${root}"`);
}

/**
 * Reads one AffectNet split ("train" = training.csv, "val" = validation.csv). Codes 0-6 are kept; 7 (contempt)
 * is kept only when "contempt" is in `labels` (an explicit eight-class list, since the canonical set has seven),
 * else dropped and counted; 8-10 (None, Uncertain, No-Face) are always dropped and counted by name.
 */
export async function readAffectNet(
  root: string,
  { split = "train", labels = DEFAULT_LABELS, csv, imagesDir, checkImages = true }: AffectNetOptions = {},
): Promise<ReadResult> {
  const file = csv ?? await findCsv(root, split);
  const images = imagesDir ?? join(root, "Manually_Annotated_Images");
  const lines = splitLines(await readText(file));
  const classIndex = NATIVE.map((n) => labelIndex(n, labels));
  const listings = new Map<string, Set<string> | null>();
  const samples: Sample[] = [];
  const skipped = createSkipCounter();
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i];
    if (i === 0 && /^\s*"?subDirectory_filePath/i.test(line)) continue;
    if (line.trim() === "") throw new DataFormatError(file, lineNo, "line is empty, expected 9 fields");
    const f = line.split(",").map((s) => s.trim().replace(/^"(.*)"$/, "$1"));
    if (f.length !== 9) {
      throw new DataFormatError(
        file,
        lineNo,
        `row has ${f.length} fields, expected 9 (landmarks must use ";")`,
      );
    }
    const code = parseIntField(f[6], file, lineNo, "expression");
    if (code in NON_EXPRESSIONS) {
      skipped.add(`code ${code} (${NON_EXPRESSIONS[code]})`);
      continue;
    }
    if (code < 0 || code >= NATIVE.length) {
      throw new DataFormatError(file, lineNo, `expression is "${code}", expected 0..10`);
    }
    const label = classIndex[code];
    if (label < 0) {
      skipped.add(`class "${NATIVE[code]}" not in the run's labels`);
      continue;
    }
    const box = {
      x: parseNumberField(f[1], file, lineNo, "face_x"),
      y: parseNumberField(f[2], file, lineNo, "face_y"),
      width: parseNumberField(f[3], file, lineNo, "face_width"),
      height: parseNumberField(f[4], file, lineNo, "face_height"),
    };
    if (!(box.width > 0 && box.height > 0)) {
      throw new DataFormatError(
        file,
        lineNo,
        `face box is ${box.width}x${box.height}, expected positive size`,
      );
    }
    const path = join(images, f[0]);
    if (checkImages) {
      const dir = dirname(path);
      if (!listings.has(dir)) listings.set(dir, await listFiles(dir));
      if (!listings.get(dir)?.has(path.slice(dir.length + 1))) {
        skipped.add("image missing");
        continue;
      }
    }
    samples.push({ path, label, dataset: "affectnet", split, box, source: `${file}:${lineNo}` });
  }
  return { samples, skipped: skipped.list() };
}
