/**
 * ExpW reader: `label/label.lst`, one line per face,
 * `image_name face_id top left right bottom confidence label` (the box order is top, left, right, bottom,
 * i.e. y1, x1, x2, y2, which at least one public script gets wrong). Labels 0 angry .. 6 neutral; images are
 * full scenes in `image/origin/`, so samples carry the box and `prepare` crops and aligns them.
 */
import { join } from "node:path";
import { LABEL_ORDERS } from "../../model/spec.ts";
import {
  createSkipCounter,
  DataFormatError,
  DEFAULT_LABELS,
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

/** Options of {@link readExpW}. */
export interface ExpWOptions extends ReaderOptions {
  /** Drop faces whose detector confidence is below this. Default: keep all. */
  minConfidence?: number;
}

/**
 * Reads ExpW. ExpW has no official split, so the only split is "all" (any other name is an error; make a
 * held-out set with the mixer's seeded undersampling if needed). Faces with missing images are counted.
 */
export async function readExpW(
  root: string,
  { split = "all", labels = DEFAULT_LABELS, minConfidence = -Infinity }: ExpWOptions = {},
): Promise<ReadResult> {
  if (split !== "all") {
    throw new Error(`Cannot read ExpW: split is "${split}", expected "all" (no official split)`);
  }
  const file = join(root, "label", "label.lst");
  const lines = splitLines(await readText(file));
  const imageDir = join(root, "image", "origin");
  const present = await listFiles(imageDir);
  if (!present) throw new Error(`Cannot read ExpW: image folder "${imageDir}" not found`);
  const classIndex = LABEL_ORDERS.expw.map((n) => labelIndex(n, labels));
  const samples: Sample[] = [];
  const skipped = createSkipCounter();
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const f = lines[i].trim().split(/\s+/);
    if (f.length !== 8) {
      throw new DataFormatError(
        file,
        lineNo,
        `line has ${f.length} fields, expected 8 (image face_id top left right bottom confidence label)`,
      );
    }
    const top = parseNumberField(f[2], file, lineNo, "top");
    const left = parseNumberField(f[3], file, lineNo, "left");
    const right = parseNumberField(f[4], file, lineNo, "right");
    const bottom = parseNumberField(f[5], file, lineNo, "bottom");
    const confidence = parseNumberField(f[6], file, lineNo, "confidence");
    const code = parseIntField(f[7], file, lineNo, "label");
    if (code < 0 || code > 6) throw new DataFormatError(file, lineNo, `label is "${code}", expected 0..6`);
    if (!(right > left && bottom > top)) {
      throw new DataFormatError(
        file,
        lineNo,
        `face box is top=${top} left=${left} right=${right} bottom=${bottom}, expected right>left, bottom>top`,
      );
    }
    if (confidence < minConfidence) {
      skipped.add(`confidence below ${minConfidence}`);
      continue;
    }
    const label = classIndex[code];
    if (label < 0) {
      skipped.add(`class "${LABEL_ORDERS.expw[code]}" not in the run's labels`);
      continue;
    }
    if (!present.has(f[0])) {
      skipped.add("image missing");
      continue;
    }
    samples.push({
      path: join(imageDir, f[0]),
      label,
      dataset: "expw",
      split,
      box: { x: left, y: top, width: right - left, height: bottom - top },
      source: `${file}:${lineNo}`,
    });
  }
  return { samples, skipped: skipped.list() };
}
