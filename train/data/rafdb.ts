/**
 * RAF-DB (basic) reader: `EmoLabel/list_patition_label.txt` (the misspelling is original) holds
 * `<name> <label>` lines such as `train_00001.jpg 5`, labels 1..7 = Surprise, Fear, Disgust, Happiness,
 * Sadness, Anger, Neutral. The split comes from the name's prefix. Images live in `Image/aligned/<stem>_aligned.jpg`
 * (100x100, already aligned) or `Image/original/<name>` (full images, for `prepare`).
 */
import { join } from "node:path";
import { LABEL_ORDERS } from "../../model/spec.ts";
import {
  createSkipCounter,
  DataFormatError,
  DEFAULT_LABELS,
  exists,
  labelIndex,
  listFiles,
  type ReaderOptions,
  type ReadResult,
  readText,
  type Sample,
  splitLines,
} from "./sample.ts";

/** Options of {@link readRafDb}. */
export interface RafDbOptions extends ReaderOptions {
  /** Which image folder to point at. Default "aligned". */
  images?: "aligned" | "original";
}

/**
 * Reads RAF-DB basic. Splits: "train", "test" (from the `train_`/`test_` prefix) or "all". `root` is the
 * `basic` folder or its parent. Rows whose image is absent are skipped and counted.
 */
export async function readRafDb(
  root: string,
  { split = "train", labels = DEFAULT_LABELS, images = "aligned" }: RafDbOptions = {},
): Promise<ReadResult> {
  if (!["train", "test", "all"].includes(split)) {
    throw new Error(`Cannot read RAF-DB: split is "${split}", expected one of train, test, all`);
  }
  const base = await exists(join(root, "EmoLabel")) ? root : join(root, "basic");
  const file = join(base, "EmoLabel", "list_patition_label.txt");
  const lines = splitLines(await readText(file));
  const imageDir = join(base, "Image", images);
  const present = await listFiles(imageDir);
  if (!present) throw new Error(`Cannot read RAF-DB: image folder "${imageDir}" not found`);
  const classIndex = LABEL_ORDERS.rafdb.map((n) => labelIndex(n, labels));
  const samples: Sample[] = [];
  const skipped = createSkipCounter();
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const parts = lines[i].trim().split(/\s+/);
    if (parts.length !== 2 || parts[0] === "") {
      throw new DataFormatError(file, lineNo, `line is "${lines[i]}", expected "<name>.jpg <label 1..7>"`);
    }
    const [name, value] = parts;
    const m = /^(train|test)_\d+\.(jpg|png)$/.exec(name);
    if (!m) {
      throw new DataFormatError(file, lineNo, `image name is "${name}", expected train_NNNNN.jpg or test_`);
    }
    if (!/^[1-7]$/.test(value)) throw new DataFormatError(file, lineNo, `label is "${value}", expected 1..7`);
    if (split !== "all" && m[1] !== split) continue;
    const label = classIndex[Number(value) - 1];
    if (label < 0) {
      skipped.add(`class "${LABEL_ORDERS.rafdb[Number(value) - 1]}" not in the run's labels`);
      continue;
    }
    const stem = name.replace(/\.(jpg|png)$/, "");
    const image = images === "aligned" ? `${stem}_aligned.jpg` : name;
    if (!present.has(image)) {
      skipped.add("image missing");
      continue;
    }
    samples.push({
      path: join(imageDir, image),
      label,
      dataset: "rafdb",
      split,
      source: `${file}:${lineNo}`,
    });
  }
  return { samples, skipped: skipped.list() };
}
