import assert from "node:assert/strict";
import {
  analyzeImages,
  classifyFaces,
  type ExpressionModel,
  softmax,
  unionMs,
  withDeadline,
} from "../../src/classify.ts";
import { createBatcher } from "../../src/batcher.ts";
import { ApiError } from "../../src/errors.ts";
import type { Manifest } from "../../model/manifest.ts";
import { CANONICAL_LABELS, LABEL_ORDERS } from "../../model/spec.ts";
import { solidPng } from "../api/fixtures.ts";

/** A model whose "net" answers fixed probabilities in AffectNet order: anger for every face. */
function fakeModel(runs: number[]): ExpressionModel {
  const manifest = {
    id: "fake",
    labels: [...LABEL_ORDERS.affectnet],
    trained: true,
    input: {
      name: "input",
      size: { width: 4, height: 4 },
      layout: "NCHW",
      channelOrder: "RGB",
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: "fill",
    },
    outputs: [{ name: "probabilities", shape: ["N", 7], dtype: "float32" }],
  } as unknown as Manifest;
  const anger = LABEL_ORDERS.affectnet.indexOf("anger");
  const batcher = createBatcher<Float32Array, { scores: Float32Array }>({
    run: (items) => {
      runs.push(items.length);
      return Promise.resolve(
        items.map(() => ({ scores: Float32Array.from({ length: 7 }, (_, i) => i === anger ? 1 : 0) })),
      );
    },
    maxBatch: 8,
    maxDelayMs: 0,
    maxQueue: 64,
  });
  return { id: "fake", version: "1", manifest, hasAttention: false, batcher };
}

const ANGER = CANONICAL_LABELS.indexOf("anger");

const options = {
  detect: false,
  maxFaces: 20,
  minFaceSize: 0,
  minConfidence: 0.5,
  landmarks: false,
  attention: false,
};

Deno.test("softmax() is stable and unionMs() counts overlapping spans once", () => {
  const p = softmax([1000, 1000, 1000]);
  assert.deepEqual(p.map((v) => v.toFixed(4)), ["0.3333", "0.3333", "0.3333"]);
  assert.equal(unionMs([[0, 10], [5, 15], [20, 25]]), 20);
  assert.equal(unionMs([]), 0);
});

Deno.test("analyzeImages() with detect=false: every image is one face, canonical scores, one batched run", async () => {
  const runs: number[] = [];
  const model = fakeModel(runs);
  const png = await solidPng(8, 8, [10, 200, 30]);
  const result = await analyzeImages([png, png, png], options, {
    model,
    maxPixels: 1e6,
    deadline: performance.now() + 10_000,
    tag: "t",
    maxBatch: 8,
  });
  assert.equal(result.images.length, 3);
  for (const image of result.images) {
    assert.deepEqual([image.width, image.height, image.faces.length], [8, 8, 1]);
    assert.deepEqual(image.faces[0].box, { x: 0, y: 0, width: 8, height: 8 });
    assert.equal(image.faces[0].scores[ANGER], 1, "mapped by name from the AffectNet order");
  }
  assert.deepEqual(runs, [3]);
  assert.ok(result.timings.totalMs >= result.timings.classifyMs);
});

Deno.test("analyzeImages() refuses what the request cannot get, and names the frame that failed", async () => {
  const model = fakeModel([]);
  const ctx = { model, maxPixels: 1e6, deadline: performance.now() + 10_000, tag: "t", maxBatch: 8 };
  const code = (c: string) => (e: unknown) => e instanceof ApiError && e.code === c;
  await assert.rejects(analyzeImages([], { ...options, attention: true }, ctx), code("invalid_request"));
  await assert.rejects(analyzeImages([], { ...options, landmarks: true }, ctx), code("invalid_request"));
  await assert.rejects(analyzeImages([], { ...options, detect: true }, ctx), code("not_ready"));
  const png = await solidPng(8, 8, [0, 0, 0]);
  await assert.rejects(
    analyzeImages([png, new Uint8Array([1, 2, 3])], options, { ...ctx, frames: true }),
    (e) => e instanceof ApiError && e.code === "undecodable_image" && e.message.startsWith("frames[1]: "),
  );
});

Deno.test("withDeadline() answers 504 past the deadline; classifyFaces() maps labels like analyzeImages", async () => {
  await assert.rejects(
    withDeadline(new Promise(() => {}), performance.now() + 10),
    (e) => e instanceof ApiError && e.code === "deadline_exceeded",
  );
  const image = { data: new Uint8Array(4 * 4 * 3), width: 4, height: 4, channels: 3 as const };
  const scores = await classifyFaces(fakeModel([]), { prepare: (img) => img }, image, [null, null]);
  assert.equal(scores.length, 2);
  assert.equal(scores[0][ANGER], 1);
});
