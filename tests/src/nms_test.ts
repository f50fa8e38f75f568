import assert from "node:assert/strict";
import { iou, nonMaxSuppression } from "../../src/faces/nms.ts";

// (y1, x1, y2, x2) boxes
const boxes = [
  0,
  0,
  10,
  10, // 0
  1,
  1,
  11,
  11, // 1: IoU with 0 = 81/119 = 0.68 -> suppressed by 0
  0,
  20,
  10,
  30, // 2: disjoint
  0,
  5,
  10,
  15, // 3: IoU with 0 = 50/150 = 0.33 -> kept
  10,
  10,
  0,
  0, // 4: box 0 with corners swapped (face-api normalises with min/max)
];

Deno.test("iou() matches hand-computed overlaps and normalises swapped corners", () => {
  assert.equal(iou(boxes, 0, 0), 1);
  assert.ok(Math.abs(iou(boxes, 0, 1) - 81 / 119) < 1e-12);
  assert.equal(iou(boxes, 0, 2), 0);
  assert.ok(Math.abs(iou(boxes, 0, 3) - 1 / 3) < 1e-12);
  assert.equal(iou(boxes, 0, 4), 1);
  assert.equal(iou([0, 0, 0, 5, 0, 0, 5, 5], 0, 1), 0, "an empty box overlaps nothing");
});

Deno.test("nonMaxSuppression() keeps the best of overlapping boxes in score order", () => {
  const scores = [0.9, 0.95, 0.8, 0.7, 0.1];
  // 1 (0.95) wins over 0 (IoU 0.68); 3 overlaps 1 by 40/160 = 0.25 and is kept; 4 is under the threshold.
  assert.deepEqual(nonMaxSuppression(boxes, scores, { scoreThreshold: 0.5 }), [1, 2, 3]);
});

Deno.test("nonMaxSuppression() uses strict > for scores and <= for IoU like face-api", () => {
  assert.deepEqual(nonMaxSuppression(boxes, [0.5, 0, 0, 0, 0], { scoreThreshold: 0.5 }), []);
  // IoU(0, 3) = 1/3 exactly: suppressed at threshold 0.3, kept at 1/3 (<= keeps)
  assert.deepEqual(
    nonMaxSuppression(boxes, [0.9, 0, 0, 0.8, 0], { scoreThreshold: 0.5, iouThreshold: 0.3 }),
    [0],
  );
  assert.deepEqual(
    nonMaxSuppression(boxes, [0.9, 0, 0, 0.8, 0], { scoreThreshold: 0.5, iouThreshold: 1 / 3 }),
    [0, 3],
  );
});

Deno.test("nonMaxSuppression() stops at maxOutput and handles no candidates", () => {
  assert.deepEqual(nonMaxSuppression(boxes, [0.9, 0.1, 0.8, 0.7, 0.1], { maxOutput: 2 }), [0, 2]);
  assert.deepEqual(nonMaxSuppression([], []), []);
});
