import assert from "node:assert/strict";
import { join } from "node:path";
import { readAffectNet } from "../../../train/data/affectnet.ts";
import { fixtureCopy, FIXTURES } from "./helpers.ts";

const ROOT = join(FIXTURES, "affectnet");

Deno.test("readAffectNet() maps codes to canonical order, keeps boxes and counts dropped codes", async () => {
  const { samples, skipped } = await readAffectNet(ROOT, { split: "train" });
  // code 1 happiness -> canonical 4, code 6 anger -> canonical 1
  assert.deepEqual(samples.map((s) => [s.path.slice(ROOT.length + 1), s.label]), [
    ["Manually_Annotated_Images/1/a.jpg", 4],
    ["Manually_Annotated_Images/1/b.jpg", 1],
  ]);
  assert.deepEqual(samples[0].box, { x: 8, y: 4, width: 24, height: 24 });
  assert.match(samples[0].source, /training\.csv:2$/);
  assert.deepEqual(skipped, [
    { reason: 'class "contempt" not in the run\'s labels', count: 1 },
    { reason: "code 8 (None)", count: 1 },
    { reason: "code 9 (Uncertain)", count: 1 },
    { reason: "code 10 (No-Face)", count: 1 },
    { reason: "image missing", count: 1 },
  ]);
});

Deno.test("readAffectNet() keeps contempt only with an explicit 8-class label list", async () => {
  const labels = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise", "contempt"];
  const { samples } = await readAffectNet(ROOT, { split: "train", labels });
  assert.deepEqual(samples.map((s) => s.label), [4, 1, 7]);
});

Deno.test("readAffectNet() reads validation.csv without a header", async () => {
  const { samples } = await readAffectNet(ROOT, { split: "val" });
  assert.deepEqual(samples.map((s) => s.label), [3]); // code 4 fear -> canonical 3
  assert.match(samples[0].source, /validation\.csv:1$/);
});

Deno.test("readAffectNet() names file:line for malformed rows", async () => {
  const cases: [string, RegExp][] = [
    ["1/a.jpg,8,4,24,24,1;2,11,0,0\n", /validation\.csv:1": expression is "11", expected 0\.\.10/],
    ["1/a.jpg,8,4,24,24,1,2,3,0,0\n", /validation\.csv:1": row has 10 fields, expected 9/],
    ["1/a.jpg,8,4,24,24,1;2,3,0,0\n1/b.jpg,x,4,24,24,1;2,3,0,0\n", /validation\.csv:2": face_x is "x"/],
  ];
  for (const [csv, re] of cases) {
    const root = await fixtureCopy("affectnet", { "Manually_Annotated_file_lists/validation.csv": csv });
    await assert.rejects(() => readAffectNet(root, { split: "val" }), re);
  }
});
