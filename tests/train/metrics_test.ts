import assert from "node:assert/strict";
import { computeMetrics, pairLabels, parseLabelFile } from "../../train/metrics.ts";

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

// Hand-computed (canonical order: 0 neutral, 1 anger, 4 happiness, 6 surprise; 2, 3, 5 absent everywhere):
// neutral P 2/3 R 2/3 F1 2/3; anger P 1/2 R 1/2 F1 1/2; happiness P 1 R 3/4 F1 6/7; surprise P 1/2 R 1 F1 2/3.
const TRUTH = [0, 0, 0, 1, 1, 4, 4, 4, 4, 6];
const PRED = [0, 0, 1, 1, 0, 4, 4, 4, 6, 6];

Deno.test("computeMetrics() matches hand-computed accuracy, per-class scores and confusion", () => {
  const m = computeMetrics(TRUTH, PRED);
  close(m.accuracy, 0.7, "accuracy");
  close(m.per_class.neutral.precision, 2 / 3, "neutral P");
  close(m.per_class.anger.f1, 1 / 2, "anger F1");
  close(m.per_class.happiness.recall, 3 / 4, "happiness R");
  close(m.per_class.happiness.f1, 6 / 7, "happiness F1");
  close(m.per_class.surprise.precision, 1 / 2, "surprise P");
  close(m.per_class.surprise.f1, 2 / 3, "surprise F1");
  assert.deepEqual(m.per_class.disgust, { precision: 0, recall: 0, f1: 0, support: 0 });
  assert.equal(m.per_class.happiness.support, 4);
  assert.deepEqual(m.confusion[0], [2, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual(m.confusion[4], [0, 0, 0, 0, 3, 0, 1]);
  assert.equal(m.confusion.flat().reduce((a, b) => a + b, 0), 10);
});

Deno.test("computeMetrics() averages F1 over all 7 classes (absent = 0) and computes the ABAW2020 score", () => {
  const all = computeMetrics(TRUTH, PRED);
  const f1 = (2 / 3 + 1 / 2 + 6 / 7 + 2 / 3) / 7;
  close(all.f1_macro, f1, "macro F1 over 7");
  close(all.abaw2020, 0.67 * f1 + 0.33 * 0.7, "abaw2020");
  const present = computeMetrics(TRUTH, PRED, { average: "present" });
  close(present.f1_macro, (2 / 3 + 1 / 2 + 6 / 7 + 2 / 3) / 4, "macro F1 over present classes");
});

Deno.test("computeMetrics() gives F1 0 to a class never predicted and to one predicted but absent", () => {
  const m = computeMetrics([2, 2, 4], [0, 0, 4]);
  assert.deepEqual(m.per_class.disgust, { precision: 0, recall: 0, f1: 0, support: 2 });
  assert.deepEqual(m.per_class.neutral, { precision: 0, recall: 0, f1: 0, support: 0 });
  close(m.f1_macro, 1 / 7, "only happiness scores");
  assert.throws(() => computeMetrics([0], [0, 1]), /1 labels but 2 predictions/);
  assert.throws(() => computeMetrics([0], [9]), /prediction 1 is 9, expected 0\.\.6/);
});

Deno.test("parseLabelFile() reads indices, names, Aff-Wild2 annotations and the ABAW submission format", () => {
  assert.deepEqual(parseLabelFile("0\n4\nhappy\nSurprise\n-1\n\n", "a.txt").values, [0, 4, 4, 6, -1]);
  // Aff-Wild2 annotation: header order = canonical order.
  assert.deepEqual(
    parseLabelFile("Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise\n1\n-1\n6\n", "v.txt").values,
    [1, -1, 6],
  );
  // A header in another order remaps indices by name (AffectNet order: 1 = happiness).
  assert.deepEqual(
    parseLabelFile("Neutral,Happiness,Sadness,Surprise,Fear,Disgust,Anger\n1\n6\n", "n.txt").values,
    [4, 1],
  );
  const sub = parseLabelFile(
    "image_location,Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise\nv1/00001.jpg,4\nv1/00002.jpg,0\n",
    "sub.csv",
  );
  assert.deepEqual(sub, { values: [4, 0], keys: ["v1/00001.jpg", "v1/00002.jpg"] });
  assert.throws(() => parseLabelFile("0\n9\n", "p.txt"), /Cannot read "p\.txt:2": label is "9"/);
  assert.throws(
    () => parseLabelFile("valence,arousal\n0\n", "va.txt"),
    /va\.txt:1": header names unknown classes "valence, arousal"/,
  );
  const abaw3 = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n7\n";
  assert.throws(
    () => parseLabelFile(abaw3, "o.txt"),
    /o\.txt:2": label is "7" \(other\), a class outside the label list/,
  );
  const eight = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise", "other"];
  assert.deepEqual(parseLabelFile(abaw3, "o.txt", { labels: eight }).values, [7]);
  assert.throws(() => parseLabelFile("0\nbored\n", "p.txt"), /p\.txt:2": label is "bored"/);
});

Deno.test("pairLabels() drops -1 frames, pairs by key when both have keys, and names both files on mismatch", () => {
  const r = pairLabels({ values: [0, -1, 4] }, { values: [0, 3, 6] });
  assert.deepEqual(r, { truth: [0, 4], predicted: [0, 6], ignored: 1 });
  const keyed = pairLabels({ values: [1, 2], keys: ["a", "b"] }, { values: [2, 1], keys: ["b", "a"] });
  assert.deepEqual(keyed.predicted, [1, 2]);
  assert.throws(
    () => pairLabels({ values: [0, 1] }, { values: [0] }, { truthSource: "l.txt", predictedSource: "p.txt" }),
    /"l\.txt" has 2 labels but "p\.txt" has 1 predictions/,
  );
});
