/**
 * The job engine without a server: the SQLite store (chunks, restart re-queue, TTL) and the CSV and ABAW
 * writers over hand-made frames, and the upload checks against the limits.
 */
import assert from "node:assert/strict";
import { type Job, JobStore } from "../../src/jobs/store.ts";
import { ABAW_HEADER, abawLines, CSV_HEADER, csvRows } from "../../src/jobs/formats.ts";
import { checkVideo } from "../../src/jobs/jobs.ts";
import { ApiError } from "../../src/errors.ts";
import type { FrameResult } from "../../src/video.ts";
import { VideoJobOptions } from "../../openapi/schemas.ts";

const meta = {
  container: "mov,mp4,m4a,3gp,3g2,mj2",
  codec: "h264",
  width: 640,
  height: 360,
  duration: 10,
  fps: 25,
  frames: 250,
  size: 1000,
};

function job(id: string, createdAt: number): Job {
  return {
    id,
    owner: "",
    status: "queued",
    createdAt,
    // The endpoint's defaults, as the route's schema fills them in.
    options: { ...VideoJobOptions.parse({}), fps: 5 },
    model: { id: "m", version: "1", trained: false },
    video: meta,
    frameSize: { width: 640, height: 360 },
    path: "/nonexistent",
    done: 0,
    total: 50,
  };
}

Deno.test("JobStore keeps chunks in order, re-queues running jobs on reopen and deletes expired ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-store-" });
  try {
    let store = new JobStore(dir);
    store.insert(job("a", 1));
    store.insert(job("b", 2));
    store.setStatus("a", "running", { at: 10 });
    const frame = { width: 4, height: 4, faces: [] };
    store.appendFrames("a", 0, [frame, frame]);
    store.appendFrames("a", 2, [frame]);
    assert.equal(store.get("a")!.done, 3);
    assert.equal(store.frames("a", 1).length, 2);
    store.close();
    store = new JobStore(dir);
    assert.deepEqual(store.requeueRunning(), ["a"]);
    assert.deepEqual(store.queued(), ["a", "b"]);
    assert.equal(store.get("a")!.done, 3, "resumes after the stored frames");
    store.setStatus("b", "succeeded", { at: 100 });
    assert.equal(store.deleteFinishedBefore(50), 0);
    assert.equal(store.deleteFinishedBefore(101), 1);
    assert.equal(store.get("b"), undefined);
    assert.ok(store.get("a"));
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const scores = (label: string) =>
  Object.fromEntries(
    ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise"].map((
      l,
    ) => [l, l === label ? 1 : 0]),
  ) as FrameResult["faces"][number]["expression"]["scores"];

function face(label: "happiness" | "sadness", size: number, trackId: number) {
  return {
    box: { x: 0, y: 0, width: size, height: size },
    detectionScore: 0.9,
    trackId,
    expression: { label, confidence: 1, scores: scores(label) },
  };
}

Deno.test("CSV has one row per face (or per empty frame); ABAW picks the largest face or the chosen track", () => {
  const frames: FrameResult[] = [
    {
      index: 0,
      timestamp: 0,
      image: { width: 8, height: 8 },
      faces: [face("happiness", 10, 0), face("sadness", 20, 1)],
    },
    { index: 1, timestamp: 0.2, image: { width: 8, height: 8 }, faces: [] },
    { index: 2, timestamp: 0.4, image: { width: 8, height: 8 }, faces: [face("happiness", 10, 0)] },
  ];
  const rows = csvRows(frames);
  assert.equal(rows.length, 4);
  assert.equal(CSV_HEADER.split(",").length, rows[0].split(",").length);
  assert.equal(rows[2], "1,0.2,,,,,,,,,,,,,");
  assert.equal(ABAW_HEADER.split(",")[4], "Happiness");
  // ABAW order: happiness 4, sadness 5.
  assert.deepEqual(abawLines(frames), ["5", "-1", "4"]);
  assert.deepEqual(abawLines(frames, 0), ["4", "-1", "4"]);
  assert.deepEqual(abawLines(frames, 1), ["5", "-1", "-1"]);
});

Deno.test("checkVideo() refuses other containers and codecs (415), too long or large (413), start past end (400)", () => {
  const limits = { maxPixels: 1_000_000, maxVideoSeconds: 5 };
  const code = (f: () => unknown) => {
    try {
      f();
      return "none";
    } catch (err) {
      return (err as ApiError).code;
    }
  };
  assert.equal(checkVideo(meta, { fps: 5, start: 0, end: 4 }, limits), 20);
  assert.equal(
    code(() => checkVideo({ ...meta, container: "gif" }, { fps: 5, start: 0 }, limits)),
    "unsupported_media_type",
  );
  assert.equal(
    code(() => checkVideo({ ...meta, codec: "theora" }, { fps: 5, start: 0 }, limits)),
    "unsupported_media_type",
  );
  assert.equal(code(() => checkVideo(meta, { fps: 5, start: 0 }, limits)), "video_too_long");
  assert.equal(
    code(() => checkVideo({ ...meta, width: 4000, height: 3000 }, { fps: 5, start: 0, end: 1 }, limits)),
    "too_many_pixels",
  );
  assert.equal(code(() => checkVideo(meta, { fps: 5, start: 12 }, limits)), "invalid_request");
});
