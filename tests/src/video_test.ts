import assert from "node:assert/strict";
import { assembleVideo, smoothingOf } from "../../src/video.ts";
import type { AnalyzedImage } from "../../src/classify.ts";

const HAPPY = [0.1, 0, 0, 0, 0.9, 0, 0];
const SAD = [0.1, 0, 0, 0, 0, 0.9, 0];

function frame(...faces: { x: number; scores: number[] }[]): AnalyzedImage {
  return {
    width: 640,
    height: 480,
    faces: faces.map((f) => ({
      box: { x: f.x, y: 50, width: 100, height: 100 },
      detectionScore: 0.9,
      scores: f.scores,
    })),
  };
}

Deno.test("assembleVideo() links tracks, smooths per track and summarises segments", () => {
  const images = [
    frame({ x: 10, scores: HAPPY }, { x: 400, scores: SAD }),
    frame({ x: 405, scores: SAD }, { x: 12, scores: HAPPY }),
    frame({ x: 14, scores: SAD }, { x: 410, scores: SAD }),
    frame({ x: 16, scores: SAD }),
  ];
  const { frames, tracks } = assembleVideo(images, [0, 1, 2, undefined], {
    track: true,
    smoothing: { method: "ema", alpha: 0.5 },
  });
  assert.deepEqual(frames.map((f) => f.faces.map((x) => x.trackId)), [[0, 1], [1, 0], [0, 1], [0]]);
  assert.equal(frames[3].timestamp, undefined);
  assert.equal(frames[2].timestamp, 2);
  const t0 = tracks.find((t) => t.trackId === 0)!;
  assert.equal(t0.framesSeen, 4);
  // Raw labels happy, happy, sad, sad. EMA(0.5) at frame 2 ties happiness and sadness at 0.45 (the first,
  // happiness, wins), so the smoothed segments lag the raw change by one frame.
  assert.deepEqual(t0.segments, [[0, 2, "happiness"], [3, 3, "sadness"]]);
  assert.ok(frames[1].faces.every((f) => f.smoothed));
  const t1 = tracks.find((t) => t.trackId === 1)!;
  assert.equal(t1.dominant, "sadness");
  assert.deepEqual(t1.segments, [[0, 2, "sadness"]]);
  assert.ok(Math.abs(t1.meanScores.sadness - 0.9) < 1e-9);
});

Deno.test("assembleVideo() without tracking gives no track ids or summaries", () => {
  const { frames, tracks } = assembleVideo([frame({ x: 10, scores: HAPPY })], [undefined], {
    track: false,
    smoothing: { method: "none" },
  });
  assert.deepEqual(tracks, []);
  assert.equal(frames[0].faces[0].trackId, undefined);
  assert.equal(frames[0].faces[0].expression.label, "happiness");
});

Deno.test("smoothingOf() maps the request options to a Smoothing", () => {
  assert.deepEqual(smoothingOf({ smoothing: "ema", alpha: 0.3, window: 5 }), { method: "ema", alpha: 0.3 });
  assert.deepEqual(smoothingOf({ smoothing: "window", alpha: 0.3, window: 4 }), {
    method: "window",
    size: 4,
  });
  assert.deepEqual(smoothingOf({ smoothing: "none", alpha: 0.3, window: 4 }), { method: "none" });
});
