import assert from "node:assert/strict";
import sharp from "sharp";
import type { Box } from "../../src/box.ts";
import type { Face } from "../../src/faces/face.ts";
import { alignedCrop, prepareFaceInput } from "../../src/faces/prepare.ts";
import { alignFace } from "../../src/faces/align.ts";
import { decodeImage, type RawImage } from "../../src/image.ts";
import { CANONICAL_LABELS } from "../../model/spec.ts";
import { toTensor } from "../../model/preprocess.ts";
import { bigPng } from "../fixtures/images/generate.ts";
import { baselineModel, classifyBaseline, DEMO_PHOTOS, sharedPipeline } from "../faces/models.ts";

function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return (ix * iy) / (a.width * a.height + b.width * b.height - ix * iy);
}

const sample1 = () => Deno.readFile(DEMO_PHOTOS[0]);
let sample1Faces: Promise<{ image: RawImage; faces: Face[] }> | undefined;
function detectSample1() {
  sample1Faces ??= (async () => {
    const image = await decodeImage(await sample1());
    return { image, faces: await (await sharedPipeline()).detect(image) };
  })();
  return sample1Faces;
}

Deno.test("FacePipeline.detect() finds the three faces of sample1 with landmarks, sorted by score", async () => {
  const { image, faces } = await detectSample1();
  assert.equal(faces.length, 3);
  for (let i = 0; i < faces.length; i++) {
    const f = faces[i];
    if (i) assert.ok(faces[i - 1].score >= f.score);
    assert.ok(f.score > 0.5 && f.box.x >= 0 && f.box.y >= 0);
    assert.ok(f.box.x + f.box.width <= image.width && f.box.y + f.box.height <= image.height);
    assert.equal(f.landmarks68?.length, 68);
    assert.equal(f.landmarks5?.length, 5);
    const [le, re, nose] = f.landmarks5!;
    assert.ok(le[0] < re[0], "image-left eye is left of the image-right eye");
    assert.ok(nose[0] > f.box.x && nose[0] < f.box.x + f.box.width && nose[1] > f.box.y);
  }
});

Deno.test("FacePipeline.detect() returns [] for solid, noise, 16x16 and 3000x2 images", async () => {
  const p = await sharedPipeline();
  const solid: RawImage = {
    data: new Uint8Array(640 * 480 * 3).fill(128),
    width: 640,
    height: 480,
    channels: 3,
  };
  assert.deepEqual(await p.detect(solid), []);
  let s = 7;
  const noise = solid.data.map(() => (s = (s * 1103515245 + 12345) >>> 0) >>> 24);
  assert.deepEqual(await p.detect({ ...solid, data: noise }), []);
  const tiny = await decodeImage(
    await Deno.readFile(new URL("../fixtures/images/tiny16.png", import.meta.url)),
  );
  assert.deepEqual(await p.detect(tiny), []);
  // A 3000x2 strip rounds to a 0-pixel-high detector input: still no crash, no NaN boxes.
  const strip: RawImage = {
    data: new Uint8Array(3000 * 2 * 3).fill(200),
    width: 3000,
    height: 2,
    channels: 3,
  };
  assert.deepEqual(await p.detect(strip), []);
});

Deno.test("FacePipeline.detect() handles an 8000x8000 image when the pixel limit allows it", async () => {
  const image = await decodeImage(await bigPng(8000, 8000), { maxPixels: 64_000_000 });
  assert.deepEqual(await (await sharedPipeline()).detect(image), []);
});

Deno.test("FacePipeline.detect() options: minConfidence, maxFaces, minFaceSize, landmarks", async () => {
  const p = await sharedPipeline();
  const { image, faces } = await detectSample1();
  assert.equal((await p.detect(image, { maxFaces: 1 })).length, 1);
  assert.equal((await p.detect(image, { minConfidence: faces[1].score })).length, 1);
  const smallest = Math.min(...faces.map((f) => Math.min(f.box.width, f.box.height)));
  assert.equal((await p.detect(image, { minFaceSize: smallest + 1 })).length, 2);
  const bare = await p.detect(image, { landmarks: false });
  assert.equal(bare.length, 3);
  assert.equal(bare[0].landmarks68, undefined);
  assert.deepEqual(bare.map((f) => f.box), faces.map((f) => f.box));
});

Deno.test("FacePipeline.detect() with the tiny detector finds the faces of sample1 too", async () => {
  const p = await sharedPipeline();
  const { image, faces } = await detectSample1();
  const tiny = await p.detect(image, { detector: "tiny" });
  assert.equal(tiny.length, faces.length);
  // The tiny detector's boxes are squarer and larger than SSD's: match by the SSD box centre.
  for (const { box: b } of faces) {
    const [cx, cy] = [b.x + b.width / 2, b.y + b.height / 2];
    assert.ok(tiny.some(({ box: t }) => cx > t.x && cx < t.x + t.width && cy > t.y && cy < t.y + t.height));
  }
  for (const f of tiny) assert.equal(f.landmarks5?.length, 5);
});

Deno.test("FacePipeline.detect() sees the same faces through EXIF orientation", async () => {
  const p = await sharedPipeline();
  const { faces } = await detectSample1();
  // Store the photo rotated 90 degrees counter-clockwise, tagged "rotate 90 CW to display".
  const rotated = await sharp(await sample1()).rotate(270).withMetadata({ orientation: 6 }).jpeg({
    quality: 95,
  })
    .toBuffer();
  const image = await decodeImage(new Uint8Array(rotated));
  assert.deepEqual([image.width, image.height], [1920, 1280]);
  const again = await p.detect(image);
  assert.equal(again.length, faces.length);
  for (const f of faces) assert.ok(Math.max(...again.map((g) => iou(f.box, g.box))) > 0.9);
});

Deno.test("FacePipeline.detect() finds a face cut by the image border and aligns it with black padding", async () => {
  const p = await sharedPipeline();
  const { image, faces } = await detectSample1();
  const f = faces[0];
  // Cut the image through the middle of the first face (its left 40% is gone).
  const left = Math.round(f.box.x + 0.4 * f.box.width), top = Math.round(f.box.y - 50);
  const w = 400, h = 400;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    data.set(
      image.data.subarray(((top + y) * image.width + left) * 3, ((top + y) * image.width + left + w) * 3),
      y * w * 3,
    );
  }
  const cut: RawImage = { data, width: w, height: h, channels: 3 };
  const found = await p.detect(cut, { minConfidence: 0.3 });
  assert.ok(
    found.some((g) => g.box.x === 0),
    `a face touching the left border: ${JSON.stringify(found.map((g) => g.box))}`,
  );
  for (const face of found) {
    const aligned = alignedCrop(cut, face);
    assert.deepEqual([aligned.width, aligned.height], [224, 224]);
  }
  // Whatever the detector says, alignment of landmarks hanging off the image never throws and pads with black.
  const shifted = f.landmarks5!.map(([x, y]): [number, number] => [x - left, y - top]);
  const aligned = alignFace(cut, shifted, 224);
  let black = 0;
  for (let i = 0; i < aligned.data.length; i += 3) {
    if (aligned.data[i] + aligned.data[i + 1] + aligned.data[i + 2] === 0) black++;
  }
  assert.ok(black > 224 * 224 * 0.1, `${black} black pixels`);
});

Deno.test("prepareFaceInput() gives face-api's float crop for pad-square and the aligned face for fill", async () => {
  const { image, faces } = await detectSample1();
  const exSpec = (await baselineModel()).manifest.input;
  const crop = prepareFaceInput(image, faces[0], exSpec);
  assert.ok(crop.data instanceof Float32Array);
  assert.deepEqual([crop.width, crop.height, crop.data.length], [112, 112, 112 * 112 * 3]);
  const whole = prepareFaceInput(image, null, exSpec);
  assert.notDeepEqual(whole.data, crop.data);
  const fill = {
    ...exSpec,
    resize: "fill" as const,
    size: { width: 224, height: 224 },
    layout: "NCHW" as const,
  };
  assert.deepEqual(
    prepareFaceInput(image, faces[0], fill).data,
    alignFace(image, faces[0].landmarks5!, 224).data,
  );
  const noLandmarks = prepareFaceInput(image, { box: faces[0].box, score: 1 }, fill);
  assert.deepEqual([noLandmarks.width, noLandmarks.height], [224, 224]);
});

Deno.test("the baseline expression net (through the registry) gives canonical probabilities per face", async () => {
  const { image, faces } = await detectSample1();
  const results = await classifyBaseline(image, faces);
  assert.equal(results.length, 3);
  for (const r of results) {
    assert.deepEqual(Object.keys(r.scores), [...CANONICAL_LABELS]);
    const sum = Object.values(r.scores).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `sum ${sum}`);
    assert.equal(r.label, CANONICAL_LABELS.reduce((a, b) => (r.scores[b] > r.scores[a] ? b : a)));
  }
  assert.equal(results[2].label, "happiness"); // the laughing woman on the right
  assert.deepEqual(await classifyBaseline(image, []), []);
  // Batched and one-by-one give the same numbers.
  const single = await classifyBaseline(image, [faces[1]]);
  for (const k of CANONICAL_LABELS) assert.ok(Math.abs(single[0].scores[k] - results[1].scores[k]) < 1e-5);
});

Deno.test("FacePipeline.detectFaces() decodes, detects and aligns every face to 224x224", async () => {
  const p = await sharedPipeline();
  const { image, faces } = await p.detectFaces(await sample1());
  assert.deepEqual([image.width, image.height, faces.length], [1920, 1280, 3]);
  for (const f of faces) assert.deepEqual([f.aligned224.width, f.aligned224.height], [224, 224]);
  await assert.rejects(p.detectFaces(new Uint8Array(0)), /Cannot decode image: input is empty/);
});

Deno.test("toTensor() lays out float crops NHWC for face-api specs and planar CHW otherwise", () => {
  const px = {
    data: Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => i + 0.25),
    width: 2,
    height: 2,
    channels: 3,
  };
  const base = {
    size: { width: 2, height: 2 },
    channelOrder: "RGB" as const,
    mean: [0, 0, 0],
    std: [1, 1, 1],
  };
  assert.deepEqual([...toTensor(px, { ...base, scale: 1, layout: "NHWC" })], [...px.data]);
  const chw = toTensor(px, { ...base, scale: 2, layout: "NCHW" });
  assert.deepEqual([...chw], [0.5, 6.5, 12.5, 18.5, 2.5, 8.5, 14.5, 20.5, 4.5, 10.5, 16.5, 22.5]);
});
