import assert from "node:assert/strict";
import { join } from "node:path";
import { readExpW } from "../../../train/data/expw.ts";
import { fixtureCopy, FIXTURES } from "./helpers.ts";

Deno.test("readExpW() reads boxes in top,left,right,bottom order and maps 0 angry..6 neutral", async () => {
  const { samples, skipped } = await readExpW(join(FIXTURES, "expw"));
  assert.deepEqual(samples.map((s) => s.label), [4, 1, 0]);
  // "s1.jpg 0 4 8 32 28": top 4, left 8, right 32, bottom 28
  assert.deepEqual(samples[0].box, { x: 8, y: 4, width: 24, height: 24 });
  assert.deepEqual(samples[1].box, { x: 34, y: 2, width: 12, height: 14 });
  assert.deepEqual(skipped, [{ reason: "image missing", count: 1 }]);
});

Deno.test("readExpW() filters by confidence and names file:line for bad lines", async () => {
  const { samples } = await readExpW(join(FIXTURES, "expw"), { minConfidence: 50 });
  assert.equal(samples.length, 2);
  const root = await fixtureCopy("expw", {
    "label/label.lst": "s1.jpg 0 4 8 32 28 60.5 3\ns1.jpg 0 4 8 32 28 60.5\n",
  });
  await assert.rejects(() => readExpW(root), /label\.lst:2": line has 7 fields, expected 8/);
  const flipped = await fixtureCopy("expw", { "label/label.lst": "s1.jpg 0 28 8 32 4 60.5 3\n" });
  await assert.rejects(() => readExpW(flipped), /label\.lst:1": face box is top=28/);
});
