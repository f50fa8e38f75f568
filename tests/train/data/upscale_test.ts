/**
 * FER2013-sized crops (48x48 gray) upscaled to a model's input: training's loader and serving's
 * `prepareFaceInput` must give the same bytes, for SCAN+CCI's `fill` 224x224 and face-api's `pad-square` input.
 * The crop is generated here (never FER2013 data) and reaches the trainer the ways FER2013 ships: a gray PNG or
 * JPEG in a folder per class, and inline csv pixels.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadImages, loadInput } from "../../../train/data/images.ts";
import { readFolder } from "../../../train/data/folder.ts";
import { readFer2013 } from "../../../train/data/fer2013.ts";
import { decodeImage, encodeJpeg, encodePng, prepareFaceInput } from "../../../src/mod.ts";
import type { InputSpec } from "../../../model/manifest.ts";
import { type FloatPixels, type RawPixels, toTensor } from "../../../model/preprocess.ts";
import { faceApiInput } from "../../../model/faceapi/package.ts";
import { FILL_224 } from "./helpers.ts";

const SIDE = 48;

/** A deterministic 48x48 gray "face": a vertical gradient, dark eyes and mouth, and seeded noise. */
function grayCrop(): RawPixels {
  const data = new Uint8Array(SIDE * SIDE);
  let seed = 12345;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const eye = y >= 16 && y < 20 && ((x >= 12 && x < 18) || (x >= 30 && x < 36));
      const mouth = y >= 34 && y < 37 && x >= 16 && x < 32;
      const base = eye || mouth ? 30 : 90 + y * 3;
      data[y * SIDE + x] = Math.min(255, base + (seed >>> 27));
    }
  }
  return { data, width: SIDE, height: SIDE, channels: 1 };
}

const FILL = FILL_224;
const PAD_SQUARE: InputSpec = { ...faceApiInput(112), shape: [1, 112, 112, 3] };

/**
 * The crop as FER2013 ships it: a PNG and a JPEG under `<root>/train/happy/` (the files serving would be sent),
 * and the same pixels as a csv row.
 */
async function writeDatasets(crop: RawPixels) {
  const root = await Deno.makeTempDir({ prefix: "scan-fer-upscale-" });
  const png = await encodePng(crop), jpg = await encodeJpeg(crop);
  await Deno.mkdir(join(root, "folder/train/happy"), { recursive: true });
  await Deno.writeFile(join(root, "folder/train/happy/0001.png"), png);
  await Deno.writeFile(join(root, "folder/train/happy/0002.jpg"), jpg);
  const csv = join(root, "fer2013.csv");
  await Deno.writeTextFile(csv, `emotion,pixels,Usage\n3,${Array.from(crop.data).join(" ")},Training\n`);
  const files = (await readFolder(join(root, "folder"), { split: "train" })).samples;
  const folder = files.find((s) => s.path.endsWith(".png"))!,
    jpeg = files.find((s) => s.path.endsWith(".jpg"))!;
  const [inline] = (await readFer2013(csv, { split: "train" })).samples;
  return { png, jpg, folder, jpeg, inline };
}

function bytes(p: RawPixels | FloatPixels): Uint8Array {
  return new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength);
}

Deno.test("a 48x48 gray crop reaches SCAN+CCI's 224x224 fill input byte for byte as serving prepares it", async () => {
  const crop = grayCrop();
  const { png, jpg, folder, jpeg, inline } = await writeDatasets(crop);
  const serving = prepareFaceInput(await decodeImage(png), null, FILL);
  assert.ok(serving.data instanceof Uint8Array, "fill crops are 8-bit");
  assert.deepEqual([serving.width, serving.height, serving.channels], [224, 224, 3]);
  // What `fit` calls (train/fit_data.ts: loadImages at 224) and the spec-driven loader eval uses.
  const [fromPng, fromCsv] = await loadImages([folder, inline], { size: 224 });
  for (const training of [fromPng, fromCsv, await loadInput(folder, FILL), await loadInput(inline, FILL)]) {
    assert.deepEqual([training.width, training.height, training.channels], [224, 224, 3]);
    assert.deepEqual(bytes(training), bytes(serving));
  }
  assert.deepEqual(toTensor(fromCsv, FILL), toTensor(serving, FILL));
  // A JPEG is lossy, so it is compared with serving's crop of the same JPEG bytes.
  const [fromJpeg] = await loadImages([jpeg], { size: 224 });
  assert.deepEqual(bytes(fromJpeg), bytes(prepareFaceInput(await decodeImage(jpg), null, FILL)));

  // It is an upscale of this crop, not some other image: interior pixels match an independent bilinear
  // resample of the 48x48 source (pixel centres aligned) within rounding.
  const scale = SIDE / 224;
  for (const [ox, oy] of [[10, 10], [70, 80], [112, 112], [150, 170], [200, 60]]) {
    const sx = (ox + 0.5) * scale - 0.5, sy = (oy + 0.5) * scale - 0.5;
    const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
    const at = (x: number, y: number) => crop.data[y * SIDE + x];
    const want = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
      fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
    const got: number = serving.data[(oy * 224 + ox) * 3];
    assert.ok(Math.abs(got - want) <= 1, `(${ox},${oy}) got ${got} want ${want.toFixed(2)}`);
    assert.equal(serving.data[(oy * 224 + ox) * 3 + 1], got, "gray stays gray");
  }
});

Deno.test("a 48x48 gray crop reaches face-api's pad-square input byte for byte as serving prepares it", async () => {
  const { png, jpg, folder, jpeg, inline } = await writeDatasets(grayCrop());
  const serving = prepareFaceInput(await decodeImage(png), null, PAD_SQUARE);
  assert.ok(serving.data instanceof Float32Array, "pad-square crops are unrounded floats");
  assert.deepEqual([serving.width, serving.height, serving.channels], [112, 112, 3]);
  for (const sample of [folder, inline]) {
    const training = await loadInput(sample, PAD_SQUARE);
    assert.ok(training.data instanceof Float32Array);
    assert.deepEqual(bytes(training), bytes(serving));
  }
  const fromJpeg = await loadInput(jpeg, PAD_SQUARE);
  assert.deepEqual(bytes(fromJpeg), bytes(prepareFaceInput(await decodeImage(jpg), null, PAD_SQUARE)));
  // A square crop needs no padding: the upscaled corners are image, not black.
  assert.ok(serving.data[0] > 0 && serving.data[serving.data.length - 1] > 0);
});
