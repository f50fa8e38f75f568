/**
 * Classification metrics over all frames, as ABAW 2020 scores expression recognition: accuracy, macro F1 and
 * the challenge score 0.67 * F1 + 0.33 * accuracy (paper eq. 8), plus per-class precision/recall/F1/support and
 * the confusion matrix. Also parses label and prediction files for `deno task train metrics`.
 *
 * Convention for empty denominators: precision is 0 for a class never predicted, recall is 0 for a class with
 * no support, and F1 is 0 when precision + recall = 0 (scikit-learn's zero_division=0). By default the macro
 * average runs over every class of the label list, including classes absent from both truth and predictions;
 * `average: "present"` averages over classes that occur in either, as scikit-learn does without `labels=`.
 */
import { CANONICAL_LABELS, canonicalIndex } from "../model/spec.ts";
import { DataFormatError, splitLines } from "./data/sample.ts";

/** Per-class scores. */
export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Everything `metrics` and `eval` print. `confusion[t][p]` counts frames of true class t predicted as p. */
export interface EvalMetrics {
  samples: number;
  accuracy: number;
  f1_macro: number;
  abaw2020: number;
  per_class: Record<string, ClassMetrics>;
  confusion: number[][];
  labels: string[];
}

/** Options of {@link computeMetrics}. */
export interface MetricsOptions {
  /** Class names in index order. Default the canonical seven. */
  labels?: readonly string[];
  /** Which classes the macro F1 averages over. Default "all". */
  average?: "all" | "present";
}

/**
 * Computes metrics from true and predicted class indices (same length, indices into `labels`). Throws on a
 * length mismatch, an empty input or an index outside the label list.
 */
export function computeMetrics(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  { labels = CANONICAL_LABELS, average = "all" }: MetricsOptions = {},
): EvalMetrics {
  if (truth.length !== predicted.length) {
    throw new Error(`Cannot compute metrics: ${truth.length} labels but ${predicted.length} predictions`);
  }
  if (truth.length === 0) throw new Error("Cannot compute metrics: no samples");
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i], p = predicted[i];
    if (!(Number.isInteger(t) && t >= 0 && t < k)) {
      throw new Error(`Cannot compute metrics: label ${i + 1} is ${t}, expected 0..${k - 1}`);
    }
    if (!(Number.isInteger(p) && p >= 0 && p < k)) {
      throw new Error(`Cannot compute metrics: prediction ${i + 1} is ${p}, expected 0..${k - 1}`);
    }
    confusion[t][p]++;
  }
  let correct = 0;
  let f1Sum = 0, f1Count = 0;
  const per_class: Record<string, ClassMetrics> = {};
  for (let c = 0; c < k; c++) {
    const tp = confusion[c][c];
    correct += tp;
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((a, row) => a + row[c], 0);
    const precision = predictedAs === 0 ? 0 : tp / predictedAs;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    per_class[labels[c]] = { precision, recall, f1, support };
    if (average === "all" || support > 0 || predictedAs > 0) {
      f1Sum += f1;
      f1Count++;
    }
  }
  const accuracy = correct / truth.length;
  const f1_macro = f1Sum / f1Count;
  return {
    samples: truth.length,
    accuracy,
    f1_macro,
    abaw2020: 0.67 * f1_macro + 0.33 * accuracy,
    per_class,
    confusion,
    labels: [...labels],
  };
}

/** Parsed label or prediction file: one class index per frame (-1 = unannotated) and, if given, frame keys. */
export interface LabelFile {
  values: number[];
  /** Image locations from the ABAW submission format, aligned with `values`. */
  keys?: string[];
}

function classOf(token: string, names: readonly string[], labels: readonly string[]): number {
  const t = token.trim();
  if (/^-?\d+$/.test(t)) {
    const n = Number(t);
    if (n === -1) return -1;
    if (n < 0 || n >= names.length) return -2;
    const i = labels.indexOf(names[n]);
    return i >= 0 ? i : -3;
  }
  const c = canonicalIndex(t);
  const name = c >= 0 ? CANONICAL_LABELS[c] : t.toLowerCase();
  const i = labels.indexOf(name);
  return i >= 0 ? i : -2;
}

/**
 * Parses a label or prediction file: one class index (in `labels` order) or name per line; or an Aff-Wild2
 * annotation (`Neutral,Anger,...` header, then indices in that header's order); or the ABAW submission format
 * (`image_location,Neutral,...` header, then `video/00001.jpg,<label>`). -1 marks an unannotated frame.
 * Errors name `file:line` and the value.
 */
export function parseLabelFile(
  text: string,
  source: string,
  { labels = CANONICAL_LABELS }: { labels?: readonly string[] } = {},
): LabelFile {
  const lines = splitLines(text);
  let names: readonly string[] = labels;
  let start = 0;
  let keyed = false;
  if (lines.length > 0 && lines[0].includes(",")) {
    const header = lines[0].split(",").map((s) => s.trim());
    keyed = header[0].toLowerCase() === "image_location";
    const classNames = keyed ? header.slice(1) : header;
    names = classNames.map((n) => {
      const c = canonicalIndex(n);
      return c >= 0 ? CANONICAL_LABELS[c] : n.toLowerCase();
    });
    const unknown = names.filter((n) => canonicalIndex(n) < 0 && n !== "other" && n !== "contempt");
    if (unknown.length) {
      throw new DataFormatError(source, 1, `header names unknown classes "${unknown.join(", ")}"`);
    }
    start = 1;
  }
  const values: number[] = [];
  const keys: string[] = [];
  for (let i = start; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") {
      if (lines.slice(i).every((l) => l.trim() === "")) break;
      throw new DataFormatError(source, i + 1, "line is empty, expected a label");
    }
    let token = line;
    if (keyed) {
      const comma = line.lastIndexOf(",");
      if (comma < 0) {
        throw new DataFormatError(source, i + 1, `line is "${line}", expected "<image>,<label>"`);
      }
      keys.push(line.slice(0, comma).trim());
      token = line.slice(comma + 1);
    }
    const v = classOf(token, names, labels);
    if (v === -2) {
      throw new DataFormatError(
        source,
        i + 1,
        `label is "${token.trim()}", expected -1, 0..${names.length - 1} or one of ${labels.join(", ")}`,
      );
    }
    if (v === -3) {
      throw new DataFormatError(
        source,
        i + 1,
        `label is "${token.trim()}" (${names[Number(token)]}), a class outside the label list ${
          labels.join(",")
        }`,
      );
    }
    values.push(v);
  }
  return keyed ? { values, keys } : { values };
}

/**
 * Pairs labels with predictions: by image key when both files carry keys, else by position (lengths must
 * match). Frames whose label is -1 are dropped and counted; a -1 prediction is an error.
 */
export function pairLabels(
  truth: LabelFile,
  predicted: LabelFile,
  { truthSource = "labels", predictedSource = "predictions" } = {},
): { truth: number[]; predicted: number[]; ignored: number } {
  let p = predicted.values;
  if (truth.keys && predicted.keys) {
    const byKey = new Map(predicted.keys.map((k, i) => [k, predicted.values[i]]));
    p = truth.keys.map((k) => {
      const v = byKey.get(k);
      if (v === undefined) {
        throw new Error(`Cannot pair "${truthSource}" with "${predictedSource}": no prediction for "${k}"`);
      }
      return v;
    });
  } else if (truth.values.length !== p.length) {
    throw new Error(
      `Cannot pair labels with predictions: "${truthSource}" has ${truth.values.length} labels but ` +
        `"${predictedSource}" has ${p.length} predictions`,
    );
  }
  const t: number[] = [], q: number[] = [];
  let ignored = 0;
  truth.values.forEach((v, i) => {
    if (v === -1) {
      ignored++;
      return;
    }
    if (p[i] === -1) throw new Error(`Cannot pair labels: prediction ${i + 1} in "${predictedSource}" is -1`);
    t.push(v);
    q.push(p[i]);
  });
  return { truth: t, predicted: q, ignored };
}
