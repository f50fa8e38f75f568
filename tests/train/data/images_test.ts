import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeToRgb, faceBox, loadImage, loadImages } from "../../../train/data/images.ts";
import { decodeImage, prepareFaceInput } from "../../../src/mod.ts";
import { readExpW } from "../../../train/data/expw.ts";
import { readFer2013 } from "../../../train/data/fer2013.ts";
import { toTensor } from "../../../model/preprocess.ts";
import { SCAN_CCI_INPUT } from "../../../model/spec.ts";
import { FILL_224, FIXTURES } from "./helpers.ts";

function meanRgb(p: { data: ArrayLike<number>; width: number; height: number }): number[] {
  const m = [0, 0, 0];
  for (let i = 0; i < p.width * p.height; i++) for (let c = 0; c < 3; c++) m[c] += p.data[i * 3 + c];
  return m.map((v) => v / (p.width * p.height));
}

Deno.test("loadImage() crops the ExpW box and returns 224x224 RGB that toTensor accepts", async () => {
  const { samples } = await readExpW(join(FIXTURES, "expw"));
  const [happy, angry] = await loadImages(samples.slice(0, 2));
  assert.deepEqual([happy.width, happy.height, happy.channels, happy.data.length], [
    224,
    224,
    3,
    224 * 224 * 3,
  ]);
  // happiness = canonical 4 = red; anger = canonical 1 = blue (fixture colour code); the gray scene is cut away.
  const [r, g, b] = meanRgb(happy);
  assert.ok(r > 230 && g < 25 && b < 25, `happy crop mean ${[r, g, b]}`);
  const [r2, g2, b2] = meanRgb(angry);
  assert.ok(r2 < 25 && g2 < 25 && b2 > 200, `angry crop mean ${[r2, g2, b2]}`);
  const t = toTensor(happy, {
    ...SCAN_CCI_INPUT,
    size: { width: 224, height: 224 },
    mean: [...SCAN_CCI_INPUT.mean],
    std: [...SCAN_CCI_INPUT.std],
  });
  const centre = 112 * 224 + 112;
  assert.ok(t[centre] > 0.8 && t[224 * 224 + centre] < -0.8, `R ${t[centre]} G ${t[224 * 224 + centre]}`);
});

Deno.test("loadImage() upsamples FER2013 inline gray pixels to RGB", async () => {
  const { samples } = await readFer2013(join(FIXTURES, "fer2013"));
  const img = await loadImage(samples[0]);
  assert.deepEqual([img.width, img.height, img.channels], [224, 224, 3]);
  assert.equal(img.data[0], img.data[1]);
  assert.equal(img.data[1], img.data[2]);
  // The gradient runs left to right: the right side is brighter than the left. (Read mid-height and two pixels
  // in: the outermost rows and columns are blended with black, as serving's bilinear warp does when it
  // upsamples a whole 48x48 image.)
  const left = img.data[(112 * 224 + 2) * 3], right = img.data[(112 * 224 + 221) * 3];
  assert.ok(right > left + 30, `left ${left} right ${right}`);
});

Deno.test("loadImage() names the file and source line when an image is unreadable", async () => {
  const bad = { path: "/nonexistent/x.jpg", label: 0, dataset: "t", split: "t", source: "list.txt:9" };
  await assert.rejects(() => loadImage(bad), /Cannot load image "\/nonexistent\/x\.jpg" \(list\.txt:9\)/);
});

Deno.test("faceBox() grows by the margin, clips boxes to the image and rejects boxes outside it", () => {
  assert.deepEqual(faceBox({ x: -5, y: 2.5, width: 20, height: 100 }, 40, 30), {
    x: 0,
    y: 2.5,
    width: 15,
    height: 27.5,
  });
  assert.deepEqual(faceBox({ x: 10, y: 10, width: 10, height: 10 }, 40, 30, 0.5), {
    x: 5,
    y: 5,
    width: 20,
    height: 20,
  });
  assert.throws(() => faceBox({ x: 50, y: 0, width: 5, height: 5 }, 40, 30), /lies outside the 40x30 image/);
});

Deno.test("loadImage() gives byte for byte the crop serving feeds a fill model for the same image and box", async () => {
  const { samples } = await readExpW(join(FIXTURES, "expw"));
  const spec = FILL_224;
  for (const sample of samples.slice(0, 2)) {
    assert.ok(sample.box, "ExpW samples carry a face box");
    const training = await loadImage(sample);
    const serving = prepareFaceInput(await decodeImage(await Deno.readFile(sample.path)), {
      box: sample.box,
      score: 1,
    }, spec);
    assert.deepEqual([training.width, training.height, training.channels], [224, 224, 3]);
    assert.ok(serving.data instanceof Uint8Array, "fill crops are 8-bit");
    assert.deepEqual(training.data, serving.data);
  }
});

Deno.test("decodeToRgb() crops boxes in displayed (EXIF-rotated) coordinates", async () => {
  // exif6.jpg is stored rotated with orientation 6; displayed, it is 64x48 with a white 16x12 top-left marker.
  const path = join(FIXTURES, "../images/exif6.jpg");
  const marker = await decodeToRgb(path, { size: 8, box: { x: 1, y: 1, width: 14, height: 10 } });
  assert.ok(meanRgb(marker).every((v) => v > 235), `marker ${meanRgb(marker)}`);
  const elsewhere = await decodeToRgb(path, { size: 8, box: { x: 40, y: 30, width: 14, height: 10 } });
  assert.ok(Math.abs(meanRgb(elsewhere)[2] - 128) < 12, `pattern ${meanRgb(elsewhere)}`);
});
