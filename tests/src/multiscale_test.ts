/**
 * The detector `ssd-multiscale` (the default before `ssd-blazeface`): a close-up crop of a demo face (which face-api's SSD alone misses) is
 * found, the demo photos get exactly the SSD's faces (22, same boxes), and images without a face stay empty.
 */
import assert from "node:assert/strict";
import { padOntoCanvas } from "../../src/faces/letterbox.ts";
import { decodeImage } from "../../src/image.ts";
import { faceFreeFrames, tightGrayCloseUp } from "../faces/closeup.ts";
import { DEMO_PHOTOS, sharedPipeline } from "../faces/models.ts";

Deno.test("ssd-multiscale finds a tight close-up of a demo face that ssd misses", async () => {
  const p = await sharedPipeline();
  // The face fills the frame (a grayscale crop 1.2x the face box, JPEG-encoded like a client's photo).
  const closeUp = await tightGrayCloseUp(p);
  const side = closeUp.width; // square
  assert.deepEqual(await p.detect(closeUp, { detector: "ssd" }), []);
  const faces = await p.detect(closeUp, { detector: "ssd-multiscale" });
  assert.equal(faces.length, 1);
  // The face box sits in the middle and covers most of the frame (the crop's own face box is 1/1.2 of it).
  const { x, y, width, height } = faces[0].box;
  const [cx, cy] = [x + width / 2, y + height / 2];
  assert.ok(
    cx > side / 3 && cx < (2 * side) / 3 && cy > side / 3 && cy < (2 * side) / 3,
    JSON.stringify(faces[0].box),
  );
  assert.ok(Math.min(width, height) > 0.5 * side, JSON.stringify(faces[0].box));
  assert.equal(faces[0].landmarks68?.length, 68);
});

Deno.test("ssd-multiscale gives the demo photos exactly ssd's faces (22)", async () => {
  const p = await sharedPipeline();
  let total = 0;
  for (const path of DEMO_PHOTOS) {
    const image = await decodeImage(await Deno.readFile(path));
    const ssd = await p.detect(image, { detector: "ssd" });
    assert.deepEqual(await p.detect(image, { detector: "ssd-multiscale" }), ssd);
    total += ssd.length;
  }
  assert.equal(total, 22);
});

Deno.test("ssd-multiscale finds nothing on solid, noise and gradient frames of several sizes", async () => {
  const p = await sharedPipeline();
  for (const { label, image } of faceFreeFrames()) {
    assert.deepEqual(await p.detect(image, { detector: "ssd-multiscale" }), [], label);
  }
});

Deno.test("padOntoCanvas() draws the frame at the asked size on the centre of a grey canvas", () => {
  const image = {
    data: new Uint8Array(100 * 50 * 3).fill(255),
    width: 100,
    height: 50,
    channels: 3 as const,
  };
  const { canvas, scale, x0, y0 } = padOntoCanvas(image, 200, 400);
  assert.equal(scale, 2);
  assert.deepEqual([x0, y0], [100, 150]);
  const at = (x: number, y: number) => canvas.data[3 * (y * 400 + x)];
  assert.equal(at(99, 200), 128);
  assert.equal(at(100, 150), 255);
  assert.equal(at(299, 249), 255);
  assert.equal(at(300, 250), 128);
  // Mirrored: a frame white on its left half comes out white on its right half.
  const half = { ...image, data: image.data.map((_, i) => (Math.floor(i / 3) % 100 < 50 ? 255 : 0)) };
  const m = padOntoCanvas(half, 200, 400, { mirror: true }).canvas;
  const mat = (x: number, y: number) => m.data[3 * (y * 400 + x)];
  assert.deepEqual([mat(110, 200), mat(290, 200)], [0, 255]);
});
