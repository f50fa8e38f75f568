import assert from "node:assert/strict";
import { join } from "node:path";
import { readFolder } from "../../../train/data/folder.ts";
import { parseDatasetArg, readDataset } from "../../../train/data/read.ts";
import { FIXTURES } from "./helpers.ts";

Deno.test("readFolder() maps folder names through synonyms and counts non-images", async () => {
  const { samples, skipped } = await readFolder(join(FIXTURES, "folder"), { split: "val" });
  const byLabel = new Map<number, number>();
  for (const s of samples) byLabel.set(s.label, (byLabel.get(s.label) ?? 0) + 1);
  assert.deepEqual([...byLabel].sort(), [[0, 3], [1, 2], [4, 2]]); // neutral, angry -> anger, Happy -> happiness
  assert.deepEqual(skipped, [{ reason: "not an image file", count: 1 }]);
});

Deno.test("readFolder() names an unknown class folder", async () => {
  const tmp = await Deno.makeTempDir();
  await Deno.mkdir(join(tmp, "bored"));
  await assert.rejects(() => readFolder(tmp), /class folder "bored" is not a label/);
});

Deno.test("parseDatasetArg() and readDataset() dispatch by reader name", async () => {
  assert.deepEqual(parseDatasetArg("rafdb:/data/RAF:test"), {
    reader: "rafdb",
    root: "/data/RAF",
    split: "test",
  });
  assert.deepEqual(parseDatasetArg("expw:/data/ExpW"), {
    reader: "expw",
    root: "/data/ExpW",
    split: undefined,
  });
  assert.throws(() => parseDatasetArg("imagenet:/x"), /reader one of affwild2/);
  const r = await readDataset({ reader: "rafdb", root: join(FIXTURES, "rafdb"), split: "train" });
  assert.equal(r.samples.length, 3);
});
