/**
 * FER2013 reader: `fer2013.csv` with columns `emotion,pixels,Usage`; `pixels` is 2,304 space-separated gray
 * values (48x48, row-major), so samples carry the pixels instead of an image path. Labels 0 angry .. 6 neutral.
 */
import { join } from "node:path";
import { LABEL_ORDERS } from "../../model/spec.ts";
import {
  createSkipCounter,
  DataFormatError,
  DEFAULT_LABELS,
  labelIndex,
  parseIntField,
  type ReaderOptions,
  type ReadResult,
  readText,
  type Sample,
  splitLines,
} from "./sample.ts";

const USAGE: Record<string, string> = { train: "Training", val: "PublicTest", test: "PrivateTest" };
const SIDE = 48;

/**
 * Reads FER2013. `root` is the csv or a folder holding `fer2013.csv`. Splits: "train" (Training), "val"
 * (PublicTest), "test" (PrivateTest), "all". Each sample's `path` is `<csv>#<line>` and `pixels` is 48x48x1.
 */
export async function readFer2013(
  root: string,
  { split = "train", labels = DEFAULT_LABELS }: ReaderOptions = {},
): Promise<ReadResult> {
  if (split !== "all" && !USAGE[split]) {
    throw new Error(`Cannot read FER2013: split is "${split}", expected one of train, val, test, all`);
  }
  const file = root.endsWith(".csv") ? root : join(root, "fer2013.csv");
  const lines = splitLines(await readText(file));
  const classIndex = LABEL_ORDERS.fer2013.map((n) => labelIndex(n, labels));
  const samples: Sample[] = [];
  const skipped = createSkipCounter();
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    if (i === 0 && /^\s*emotion\s*,/i.test(lines[i])) continue;
    const f = lines[i].split(",");
    if (f.length !== 3) throw new DataFormatError(file, lineNo, `row has ${f.length} fields, expected 3`);
    const code = parseIntField(f[0], file, lineNo, "emotion");
    if (code < 0 || code > 6) throw new DataFormatError(file, lineNo, `emotion is "${code}", expected 0..6`);
    const usage = f[2].trim();
    if (!Object.values(USAGE).includes(usage)) {
      throw new DataFormatError(
        file,
        lineNo,
        `Usage is "${usage}", expected Training, PublicTest or PrivateTest`,
      );
    }
    if (split !== "all" && usage !== USAGE[split]) continue;
    const label = classIndex[code];
    if (label < 0) {
      skipped.add(`class "${LABEL_ORDERS.fer2013[code]}" not in the run's labels`);
      continue;
    }
    const values = f[1].trim().split(/\s+/);
    if (values.length !== SIDE * SIDE) {
      throw new DataFormatError(file, lineNo, `pixels has ${values.length} values, expected ${SIDE * SIDE}`);
    }
    const data = new Uint8Array(SIDE * SIDE);
    for (let p = 0; p < values.length; p++) {
      const v = Number(values[p]);
      if (!Number.isInteger(v) || v < 0 || v > 255) {
        throw new DataFormatError(file, lineNo, `pixel ${p} is "${values[p]}", expected an integer 0..255`);
      }
      data[p] = v;
    }
    samples.push({
      path: `${file}#${lineNo}`,
      label,
      dataset: "fer2013",
      split,
      source: `${file}:${lineNo}`,
      pixels: { data, width: SIDE, height: SIDE, channels: 1 },
    });
  }
  return { samples, skipped: skipped.list() };
}
