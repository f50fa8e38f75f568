import assert from "node:assert/strict";
import { join } from "node:path";
import { readAffWild2 } from "../../../train/data/affwild2.ts";
import { fixtureCopy, FIXTURES } from "./helpers.ts";

const AFF = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise";

Deno.test("readAffWild2() joins labels to frames by 1-based frame number (ABAW 2020 layout)", async () => {
  const root = join(FIXTURES, "affwild2_2020");
  const { samples, skipped } = await readAffWild2(root, { split: "train" });
  // vidA.txt: 0, 4, -1, 4 (frame 4 has no image), 6
  assert.deepEqual(samples.map((s) => [s.path.slice(root.length + 1), s.label]), [
    ["cropped_aligned/vidA/00001.jpg", 0],
    ["cropped_aligned/vidA/00002.jpg", 4],
    ["cropped_aligned/vidA/00005.jpg", 6],
  ]);
  assert.deepEqual(skipped, [
    { reason: "label -1 (unannotated)", count: 1 },
    { reason: "frame image missing", count: 1 },
  ]);
  assert.match(samples[2].source, /vidA\.txt:6$/);
  assert.equal(samples[0].dataset, "affwild2");
});

Deno.test("readAffWild2() reads the validation split with CRLF line ends", async () => {
  const { samples } = await readAffWild2(join(FIXTURES, "affwild2_2020"), { split: "val" });
  assert.deepEqual(samples.map((s) => s.label), [1, 2]);
  assert.ok(samples.every((s) => s.split === "val"));
});

Deno.test("readAffWild2() drops ABAW3+ Other by default and keeps it with an 8-class label list", async () => {
  const root = join(FIXTURES, "affwild2_abaw3");
  const seven = await readAffWild2(root, { split: "train" });
  assert.deepEqual(seven.samples.map((s) => s.label), [3, 5]);
  assert.deepEqual(seven.skipped, [{ reason: 'class "other" not in the run\'s labels', count: 1 }]);
  const labels = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise", "other"];
  const eight = await readAffWild2(root, { split: "train", labels });
  assert.deepEqual(eight.samples.map((s) => s.label), [3, 7, 5]);
});

Deno.test("readAffWild2() names file:line for an out-of-range label, a bad header and a non-integer", async () => {
  const bad = await fixtureCopy("affwild2_2020", {
    "annotations/EXPR_Set/Training_Set/vidA.txt": `${AFF}\n0\n7\n`,
  });
  await assert.rejects(
    () => readAffWild2(bad, { split: "train" }),
    /vidA\.txt:3": label is "7", expected -1\.\.6/,
  );
  const header = await fixtureCopy("affwild2_2020", {
    "annotations/EXPR_Set/Training_Set/vidA.txt": `valence,arousal\n0.1,0.2\n`,
  });
  await assert.rejects(
    () => readAffWild2(header, { split: "train" }),
    /vidA\.txt:1": header is "valence,arousal"/,
  );
  const text = await fixtureCopy("affwild2_2020", {
    "annotations/EXPR_Set/Training_Set/vidA.txt": `${AFF}\n0\nhappy\n`,
  });
  await assert.rejects(() => readAffWild2(text, { split: "train" }), /vidA\.txt:3": label is "happy"/);
});

Deno.test("readAffWild2() says which layouts it looked for when the split folder is absent", async () => {
  await assert.rejects(
    () => readAffWild2(join(FIXTURES, "affwild2_abaw3"), { split: "val" }),
    /Cannot read Aff-Wild2 split "val": none of .*Validation_Set/,
  );
});

Deno.test("readAffWild2() tolerates trailing blank lines but names a blank line inside the file", async () => {
  const trailing = await fixtureCopy("affwild2_2020", {
    "annotations/EXPR_Set/Training_Set/vidA.txt": `${AFF}\n0\n4\n\n\n`,
  });
  assert.equal((await readAffWild2(trailing)).samples.length, 2);
  const inside = await fixtureCopy("affwild2_2020", {
    "annotations/EXPR_Set/Training_Set/vidA.txt": `${AFF}\n0\n\n4\n`,
  });
  await assert.rejects(() => readAffWild2(inside), /vidA\.txt:3": label is "", expected an integer/);
});
