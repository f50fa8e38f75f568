/**
 * The default detector `ssd-blazeface` and its BlazeFace half: a tight close-up of a demo face (which face-api's
 * SSD alone misses) is found with a box in the SSD's framing and 68 landmarks, the demo photos get exactly the
 * SSD's faces (22, same boxes: BlazeFace adds no false box), frames without a face stay empty; and the decoding
 * (anchors, offsets, NMS, letterbox mapping) and the merge rules on made-up outputs.
 */
import assert from "node:assert/strict";
import { blazeFaceAnchors, decodeBlazeFace } from "../../src/faces/blazeface.ts";
import { letterbox } from "../../src/faces/letterbox.ts";
import { blazeToSsdBox, mergeDetections, MIN_SIDE } from "../../src/faces/combined.ts";
import { DEFAULT_DETECTOR } from "../../src/faces/detectors.ts";
import { decodeImage } from "../../src/image.ts";
import { faceFreeFrames, tightGrayCloseUp } from "../faces/closeup.ts";
import { DEMO_PHOTOS, sharedPipeline } from "../faces/models.ts";

Deno.test("ssd-blazeface is the default and finds a tight close-up of a demo face that ssd misses", async () => {
  assert.equal(DEFAULT_DETECTOR, "ssd-blazeface");
  const p = await sharedPipeline();
  const closeUp = await tightGrayCloseUp(p);
  const side = closeUp.width;
  assert.deepEqual(await p.detect(closeUp, { detector: "ssd" }), []);
  const faces = await p.detect(closeUp);
  assert.equal(faces.length, 1);
  const { x, y, width, height } = faces[0].box;
  const [cx, cy] = [x + width / 2, y + height / 2];
  assert.ok(
    cx > side / 3 && cx < (2 * side) / 3 && cy > side / 3 && cy < (2 * side) / 3,
    JSON.stringify(faces[0]),
  );
  assert.ok(Math.min(width, height) > 0.5 * side, JSON.stringify(faces[0].box));
  assert.ok(faces[0].score > 0.5);
  assert.equal(faces[0].landmarks68?.length, 68);
  // BlazeFace alone finds the same face.
  assert.equal((await p.detect(closeUp, { detector: "blazeface" })).length, 1);
});

Deno.test("ssd-blazeface gives the demo photos exactly ssd's faces (22)", async () => {
  const p = await sharedPipeline();
  let total = 0;
  for (const path of DEMO_PHOTOS) {
    const image = await decodeImage(await Deno.readFile(path));
    const ssd = await p.detect(image, { detector: "ssd" });
    assert.deepEqual(await p.detect(image), ssd, path);
    total += ssd.length;
  }
  assert.equal(total, 22);
});

Deno.test("ssd-blazeface and blazeface find nothing on solid, noise and gradient frames of several sizes", async () => {
  const p = await sharedPipeline();
  for (const { label, image } of faceFreeFrames()) {
    assert.deepEqual(await p.detect(image), [], label);
    assert.deepEqual(await p.detect(image, { detector: "blazeface" }), [], `${label} blazeface`);
  }
});

Deno.test("blazeFaceAnchors() lists the 16x16x2 fine grid, then the 8x8x6 coarse grid, at cell centres", () => {
  const a = blazeFaceAnchors(128);
  assert.equal(a.length, 2 * 896);
  assert.deepEqual([...a.subarray(0, 6)], [4, 4, 4, 4, 12, 4]);
  assert.deepEqual([...a.subarray(2 * 511, 2 * 512)], [124, 124]);
  assert.deepEqual([...a.subarray(2 * 512, 2 * 513)], [8, 8]);
  assert.deepEqual([...a.subarray(2 * 895)], [120, 120]);
  assert.equal(blazeFaceAnchors(256)[2 * 512], 16);
});

Deno.test("decodeBlazeFace() turns anchor offsets into image boxes, keeps the best of overlapping ones", () => {
  const raw = new Float32Array(896 * 17).fill(0);
  for (let i = 0; i < 896; i++) raw[i * 17] = -20; // every anchor: no face
  // Anchor 600 (coarse grid, cell (x 4, y 1)... index 600 - 512 = 88 -> cell 14 -> x 6, y 1 at 8 px cells x 16 px)
  const put = (i: number, logit: number, dx: number, dy: number, w: number, h: number) =>
    raw.set([logit, dx, dy, w, h], i * 17);
  const anchors = blazeFaceAnchors(128);
  put(600, 3, 2, -1, 40, 40);
  put(601, 1, 2, -1, 40, 40); // the same box, lower score: suppressed
  put(100, 0, 0, 0, 10, 10); // score 0.5: not strictly above 0.5
  // The frame was drawn at half size with its top-left corner at (10, 20).
  const found = decodeBlazeFace(raw, 128, { scale: 0.5, x0: 10, y0: 20 }, { width: 1000, height: 1000 });
  assert.equal(found.length, 1);
  const cx = anchors[1200] + 2, cy = anchors[1201] - 1;
  assert.ok(Math.abs(found[0].score - 1 / (1 + Math.exp(-3))) < 1e-6);
  const b = found[0].box;
  assert.ok(
    Math.abs(b.x - (cx - 20 - 10) / 0.5) < 1e-4 && Math.abs(b.y - (cy - 20 - 20) / 0.5) < 1e-4,
    JSON.stringify(b),
  );
  assert.ok(Math.abs(b.width - 80) < 1e-4 && Math.abs(b.height - 80) < 1e-4);
  assert.throws(
    () => decodeBlazeFace(raw.subarray(17), 128, { scale: 1, x0: 0, y0: 0 }, { width: 1, height: 1 }),
    /Cannot decode BlazeFace output/,
  );
});

Deno.test("mergeDetections() keeps every SSD face and adds only large BlazeFace faces no SSD face covers", () => {
  const image = { width: 1000, height: 800 };
  const ssd = [{ box: { x: 100, y: 100, width: 100, height: 120 }, score: 0.9 }];
  const big = MIN_SIDE * 1000;
  const blaze = [
    { box: { x: 95, y: 110, width: big, height: big }, score: 0.95 }, // covers the SSD face: dropped
    { box: { x: 600, y: 300, width: big, height: big }, score: 0.7 }, // large and alone: added
    { box: { x: 400, y: 50, width: big - 1, height: big - 1 }, score: 0.99 }, // too small for BlazeFace's word
  ];
  const merged = mergeDetections(ssd, blaze, image);
  assert.equal(merged.length, 2);
  assert.deepEqual(merged[0], ssd[0]);
  assert.deepEqual(merged[1], { box: blazeToSsdBox(blaze[1].box), score: 0.7 });
  // The SSD framing: narrower, taller, centred higher than BlazeFace's square box.
  const s = blazeToSsdBox({ x: 0, y: 0, width: 100, height: 100 });
  assert.ok(s.width < 100 && s.height > 100 && s.y + s.height / 2 < 50, JSON.stringify(s));
});

Deno.test("letterbox() shrinks off the event loop onto the centre of a grey square, and says where", async () => {
  const image = {
    data: new Uint8Array(400 * 200 * 3).fill(255),
    width: 400,
    height: 200,
    channels: 3 as const,
  };
  const { canvas, scale, x0, y0 } = await letterbox(image, 128);
  assert.equal(scale, 128 / 400);
  assert.deepEqual([canvas.width, canvas.height, x0, y0], [128, 128, 0, 32]);
  const at = (x: number, y: number) => canvas.data[3 * (y * 128 + x)];
  assert.deepEqual([at(64, 31), at(64, 32), at(64, 95), at(64, 96)], [128, 255, 255, 128]);
  // A frame smaller than the side is scaled up the same way (48 px crops).
  const small = await letterbox({
    ...image,
    data: image.data.subarray(0, 48 * 48 * 3),
    width: 48,
    height: 48,
  }, 128);
  assert.deepEqual([small.scale, small.x0, small.y0, small.canvas.data[3 * (64 * 128 + 64)]], [
    128 / 48,
    0,
    0,
    255,
  ]);
});
