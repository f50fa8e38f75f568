import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { augmentImage, toBatchTensor } from "../../train/augment.ts";
import { createRng } from "../../train/data/rng.ts";
import { toTensor } from "../../model/preprocess.ts";
import { SCAN_CCI_INPUT } from "../../model/spec.ts";
import type { RawPixels } from "../../model/preprocess.ts";

tf.env().set("PROD", true);

function image(w = 8, h = 6, seed = 1): RawPixels {
  const rng = createRng(seed);
  return {
    data: Uint8Array.from({ length: w * h * 3 }, () => rng.int(256)),
    width: w,
    height: h,
    channels: 3,
  };
}
const NO_JITTER = { brightness: 0, contrast: 0, saturation: 0, hue: 0 };

Deno.test("augmentImage() with flip p=1 and no jitter mirrors each row exactly", () => {
  const img = image();
  const out = augmentImage(img, createRng(0), { horizontalFlip: 1, colorJitter: NO_JITTER });
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      for (let c = 0; c < 3; c++) {
        assert.equal(
          out.data[(y * img.width + x) * 3 + c],
          img.data[(y * img.width + img.width - 1 - x) * 3 + c],
        );
      }
    }
  }
  const same = augmentImage(img, createRng(0), { horizontalFlip: 0, colorJitter: NO_JITTER });
  assert.deepEqual(same.data, img.data);
});

Deno.test("augmentImage() is repeatable for the same RNG state and differs for another", () => {
  const img = image(16, 16);
  const opts = {
    horizontalFlip: 0.5,
    colorJitter: { brightness: 0.4, contrast: 0.3, saturation: 0.25, hue: 0.05 },
  };
  const a = augmentImage(img, createRng(7), opts), b = augmentImage(img, createRng(7), opts);
  assert.deepEqual(a.data, b.data);
  const c = augmentImage(img, createRng(8), opts);
  assert.notDeepEqual(a.data, c.data);
  assert.deepEqual(img.data, image(16, 16).data, "input untouched");
});

Deno.test("augmentImage() brightness alone scales pixels within [1-b, 1+b]", () => {
  const img: RawPixels = { data: new Uint8Array(4 * 4 * 3).fill(100), width: 4, height: 4, channels: 3 };
  for (let s = 0; s < 20; s++) {
    const out = augmentImage(img, createRng(s), {
      horizontalFlip: 0,
      colorJitter: { ...NO_JITTER, brightness: 0.4 },
    });
    assert.ok(out.data[0] >= 60 && out.data[0] <= 140, `got ${out.data[0]}`);
    assert.ok(out.data.every((v) => v === out.data[0]), "uniform image stays uniform");
  }
});

Deno.test("augmentImage() leaves grey pixels grey under saturation and hue jitter", () => {
  const img: RawPixels = { data: new Uint8Array(4 * 4 * 3).fill(77), width: 4, height: 4, channels: 3 };
  const out = augmentImage(img, createRng(3), {
    horizontalFlip: 0,
    colorJitter: { ...NO_JITTER, saturation: 0.25, hue: 0.05 },
  });
  assert.deepEqual(out.data, img.data);
});

Deno.test("toBatchTensor() normalises exactly like model/preprocess.ts toTensor (NHWC vs NCHW)", () => {
  const img = image(SCAN_CCI_INPUT.size, SCAN_CCI_INPUT.size, 5);
  const nhwc = toBatchTensor([img]).dataSync();
  const chw = toTensor(img, {
    size: { width: SCAN_CCI_INPUT.size, height: SCAN_CCI_INPUT.size },
    scale: SCAN_CCI_INPUT.scale,
    mean: [...SCAN_CCI_INPUT.mean],
    std: [...SCAN_CCI_INPUT.std],
    channelOrder: "RGB",
  });
  const plane = SCAN_CCI_INPUT.size * SCAN_CCI_INPUT.size;
  let max = 0;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(nhwc[p * 3 + c] - chw[c * plane + p]));
  }
  assert.ok(max < 1e-6, `max diff ${max}`);
});
