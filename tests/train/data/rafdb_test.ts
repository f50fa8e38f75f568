import assert from "node:assert/strict";
import { join } from "node:path";
import { readRafDb } from "../../../train/data/rafdb.ts";
import { fixtureCopy, FIXTURES } from "./helpers.ts";

Deno.test("readRafDb() maps 1..7 to canonical labels and splits by prefix", async () => {
  const train = await readRafDb(join(FIXTURES, "rafdb"), { split: "train" });
  // 5 Sadness -> 5, 1 Surprise -> 6, 7 Neutral -> 0
  assert.deepEqual(train.samples.map((s) => s.label), [5, 6, 0]);
  assert.match(train.samples[0].path, /Image\/aligned\/train_00001_aligned\.jpg$/);
  const test = await readRafDb(join(FIXTURES, "rafdb", "basic"), { split: "test" });
  assert.deepEqual(test.samples.map((s) => s.label), [4]); // 4 Happiness
  assert.deepEqual(test.skipped, [{ reason: "image missing", count: 1 }]);
});

Deno.test("readRafDb() points at original images on request", async () => {
  const { samples } = await readRafDb(join(FIXTURES, "rafdb"), { split: "all", images: "original" });
  assert.equal(samples.length, 4);
  assert.match(samples[0].path, /Image\/original\/train_00001\.jpg$/);
});

Deno.test("readRafDb() names file:line for a label outside 1..7", async () => {
  const root = await fixtureCopy("rafdb", {
    "basic/EmoLabel/list_patition_label.txt": "train_00001.jpg 5\ntrain_00002.jpg 0\n",
  });
  await assert.rejects(() => readRafDb(root), /list_patition_label\.txt:2": label is "0", expected 1\.\.7/);
});
