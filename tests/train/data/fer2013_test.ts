import assert from "node:assert/strict";
import { join } from "node:path";
import { readFer2013 } from "../../../train/data/fer2013.ts";
import { fixtureCopy, FIXTURES } from "./helpers.ts";

Deno.test("readFer2013() carries 48x48 gray pixels and maps Usage to splits", async () => {
  const train = await readFer2013(join(FIXTURES, "fer2013"), { split: "train" });
  assert.deepEqual(train.samples.map((s) => s.label), [1, 4]); // 0 angry -> anger 1, 3 happy -> happiness 4
  const p = train.samples[0].pixels!;
  assert.deepEqual([p.width, p.height, p.channels, p.data.length], [48, 48, 1, 2304]);
  assert.deepEqual([p.data[0], p.data[47], p.data[48]], [10, 57, 10]);
  assert.match(train.samples[0].path, /fer2013\.csv#2$/);
  const val = await readFer2013(join(FIXTURES, "fer2013/fer2013.csv"), { split: "val" });
  assert.deepEqual(val.samples.map((s) => s.label), [0]); // 6 neutral
  const test = await readFer2013(join(FIXTURES, "fer2013"), { split: "test" });
  assert.deepEqual(test.samples.map((s) => s.label), [6]); // 5 surprise
});

Deno.test("readFer2013() names file:line for short pixel rows and unknown Usage", async () => {
  const short = await fixtureCopy("fer2013", { "fer2013.csv": "emotion,pixels,Usage\n0,1 2 3,Training\n" });
  await assert.rejects(() => readFer2013(short), /fer2013\.csv:2": pixels has 3 values, expected 2304/);
  const usage = await fixtureCopy("fer2013", { "fer2013.csv": "0,1 2 3,Train\n" });
  await assert.rejects(() => readFer2013(usage), /fer2013\.csv:1": Usage is "Train"/);
});
