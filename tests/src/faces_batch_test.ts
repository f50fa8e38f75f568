/**
 * Batched detection: the frames of one request go through the detector as one batch (`detectMany`,
 * `analyzeImages` with `detectBatch`) and must get exactly the faces a run per frame gives, on the six demo
 * photos (different sizes in one batch) plus a close-up only the multi-scale pyramid finds and a blank frame.
 */
import assert from "node:assert/strict";
import { DETECTOR_NAMES } from "../../src/faces/detectors.ts";
import type { Face } from "../../src/faces/face.ts";
import { prepareFaceInput } from "../../src/faces/prepare.ts";
import { analyzeImages, type AnalyzeOptions } from "../../src/classify.ts";
import { decodeImage, type RawImage } from "../../src/image.ts";
import { tightGrayCloseUp } from "../faces/closeup.ts";
import { baselineModel, DEMO_PHOTOS, sharedPipeline } from "../faces/models.ts";

const TOL = 1e-5;

function assertSameFaces(batched: Face[], single: Face[], what: string) {
  assert.equal(batched.length, single.length, `${what}: face count`);
  batched.forEach((f, k) => {
    const g = single[k];
    const nums = (x: Face) => [
      x.box.x,
      x.box.y,
      x.box.width,
      x.box.height,
      x.score,
      ...(x.landmarks68 ?? []).flat(),
      ...(x.landmarks5 ?? []).flat(),
    ];
    const a = nums(f), b = nums(g);
    assert.equal(a.length, b.length, `${what} face ${k}: landmark count`);
    a.forEach((v, j) =>
      assert.ok(Math.abs(v - b[j]) <= TOL, `${what} face ${k} value ${j}: ${v} vs ${b[j]}`)
    );
  });
}

async function frames(): Promise<RawImage[]> {
  const p = await sharedPipeline();
  const photos = await Promise.all(DEMO_PHOTOS.map(async (f) => decodeImage(await Deno.readFile(f))));
  const closeUp = await tightGrayCloseUp(p);
  const blank = { data: new Uint8Array(64 * 48 * 3).fill(90), width: 64, height: 48, channels: 3 as const };
  return [...photos, closeUp, blank];
}

for (const detector of DETECTOR_NAMES) {
  Deno.test(`detectMany() with ${detector} gives each frame the faces detect() gives it alone`, async () => {
    const p = await sharedPipeline();
    const all = await frames();
    const batched = await p.detectMany(all, { detector });
    assert.equal(batched.length, all.length);
    let faces = 0;
    for (const [i, image] of all.entries()) {
      const single = await p.detect(image, { detector });
      assertSameFaces(batched[i], single, `${detector} frame ${i}`);
      faces += single.length;
    }
    // BlazeFace alone sees group photos at 128 px: it finds 16 of their 22 faces.
    const least = detector === "blazeface" ? 14 : 20;
    assert.ok(faces >= least, `${detector}: only ${faces} faces in the demo photos`);
    if (detector !== "ssd" && detector !== "tiny") assert.equal(batched[6].length, 1, "the close-up face");
    assert.deepEqual(batched[7], [], "the blank frame");
  });
}

Deno.test("analyzeImages() answers the same with frames detected in batches of 3 and one by one", async () => {
  const p = await sharedPipeline();
  const model = await baselineModel();
  const inputs = await Promise.all(DEMO_PHOTOS.map((f) => Deno.readFile(f)));
  const options: AnalyzeOptions = {
    detect: true,
    maxFaces: 20,
    minFaceSize: 0,
    minConfidence: 0.5,
    landmarks: true,
    attention: false,
  };
  const faces = { detect: p.detect, detectMany: p.detectMany, prepare: prepareFaceInput };
  const ctx = (detectBatch: number) => ({
    model,
    faces,
    maxPixels: 40_000_000,
    deadline: performance.now() + 120_000,
    tag: "t",
    maxBatch: 16,
    frames: true,
    detectBatch,
  });
  const one = await analyzeImages(inputs, options, ctx(1));
  const three = await analyzeImages(inputs, options, ctx(3));
  assert.equal(one.images.reduce((n, im) => n + im.faces.length, 0) >= 20, true);
  assert.equal(three.images.length, one.images.length);
  three.images.forEach((im, i) => {
    assert.equal(im.faces.length, one.images[i].faces.length, `image ${i}`);
    im.faces.forEach((f, k) => {
      const g = one.images[i].faces[k];
      const a = [f.box.x, f.box.y, f.box.width, f.box.height, f.detectionScore ?? NaN, ...f.scores];
      const b = [g.box.x, g.box.y, g.box.width, g.box.height, g.detectionScore ?? NaN, ...g.scores];
      a.forEach((v, j) =>
        assert.ok(Math.abs(v - b[j]) <= TOL, `image ${i} face ${k} value ${j}: ${v} vs ${b[j]}`)
      );
      assert.deepEqual(f.landmarks?.points68.length, 68);
    });
  });
});

Deno.test("analyzeImages() names the bad frame of a batch: frames[4]: Cannot decode image", async () => {
  const p = await sharedPipeline();
  const model = await baselineModel();
  const inputs = await Promise.all(DEMO_PHOTOS.slice(0, 4).map((f) => Deno.readFile(f)));
  inputs.push(new Uint8Array([1, 2, 3, 4]));
  await assert.rejects(
    analyzeImages(inputs, {
      detect: true,
      maxFaces: 20,
      minFaceSize: 0,
      minConfidence: 0.5,
      landmarks: false,
      attention: false,
    }, {
      model,
      faces: { detect: p.detect, detectMany: p.detectMany, prepare: prepareFaceInput },
      maxPixels: 40_000_000,
      deadline: performance.now() + 120_000,
      tag: "t",
      maxBatch: 16,
      frames: true,
      detectBatch: 4,
    }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, "undecodable_image");
      assert.match(err.message, /^frames\[4\]: Cannot decode image/);
      return true;
    },
  );
});
