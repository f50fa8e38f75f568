import assert from "node:assert/strict";
import { iou } from "../../src/box.ts";
import { trackFaces } from "../../src/tracking.ts";
import { meanScores, segments, smoothScores } from "../../src/smoothing.ts";

Deno.test("iou() of identical, disjoint and half-overlapping boxes", () => {
  const a = { x: 0, y: 0, width: 10, height: 10 };
  assert.equal(iou(a, a), 1);
  assert.equal(iou(a, { x: 20, y: 0, width: 10, height: 10 }), 0);
  assert.ok(Math.abs(iou(a, { x: 5, y: 0, width: 10, height: 10 }) - 50 / 150) < 1e-12);
});

Deno.test("trackFaces() keeps ids for moving faces, survives a gap and starts new tracks", () => {
  const left = (dx: number) => ({ x: 10 + dx, y: 10, width: 50, height: 50 });
  const right = (dx: number) => ({ x: 300 + dx, y: 10, width: 50, height: 50 });
  const ids = trackFaces([
    [left(0), right(0)],
    [right(3), left(3)], // order swapped: ids follow the boxes
    [left(6)], // right missed for a frame
    [left(9), right(9)],
    [{ x: 600, y: 300, width: 40, height: 40 }],
  ]);
  assert.deepEqual(ids, [[0, 1], [1, 0], [0], [0, 1], [2]]);
});

Deno.test("smoothScores() ema/window are causal and segments split on label change and gaps", () => {
  const seq = [[1, 0], [0, 1], [0, 1]];
  assert.deepEqual(smoothScores(seq, { method: "ema", alpha: 0.5 }), [[1, 0], [0.5, 0.5], [0.25, 0.75]]);
  assert.deepEqual(smoothScores(seq, { method: "window", size: 2 }), [[1, 0], [0.5, 0.5], [0, 1]]);
  assert.deepEqual(meanScores(seq), [1 / 3, 2 / 3]);
  assert.deepEqual(segments([0, 1, 2, 4, 5], ["a", "a", "b", "b", "b"]), [[0, 1, "a"], [2, 2, "b"], [
    4,
    5,
    "b",
  ]]);
});
