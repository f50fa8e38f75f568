/**
 * End-to-end parity of the ONNX face pipeline with @vladmandic/face-api itself, run live (TensorFlow.js wasm
 * backend, ~1 s per photo; `FACEAPI_BACKEND=cpu` for the pure-JS one, ~12 s per photo) on the same decoded
 * pixels: same faces (count, IoU >= 0.95), landmarks within 1 px, expression probabilities within 1e-3.
 */
import assert from "node:assert/strict";
import sharp from "sharp";
import type { Box } from "../../src/box.ts";
import type { Face } from "../../src/faces/face.ts";
import type { DetectorName } from "../../src/faces/detectors.ts";
import { padSquareResize } from "../../src/faces/crop.ts";
import { decodeImage, type RawImage } from "../../src/image.ts";
import { type BaselineExpression, classifyBaseline, DEMO_PHOTOS, sharedPipeline } from "./models.ts";
import {
  FACEAPI_TO_CANONICAL,
  faceApiDetect,
  faceApiTf,
  loadFaceApi,
  type ReferenceFace,
} from "./faceapi_reference.ts";

function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return (ix * iy) / (a.width * a.height + b.width * b.height - ix * iy);
}

interface Worst {
  iou: number;
  landmarkPx: number;
  expression: number;
}

/** Asserts the parity thresholds and returns the worst figures seen. */
function compare(name: string, ours: Face[], exprs: BaselineExpression[], ref: ReferenceFace[]): Worst {
  assert.equal(ours.length, ref.length, `${name}: ${ours.length} faces, face-api found ${ref.length}`);
  const worst: Worst = { iou: 1, landmarkPx: 0, expression: 0 };
  ref.forEach((r, i) => {
    // face-api clips boxes to the padded square, ours to the image; IoU absorbs the sub-pixel difference.
    const o = ours[i];
    worst.iou = Math.min(worst.iou, iou(o.box, r.box));
    assert.ok(Math.abs(o.score - r.score) < 1e-3, `${name} face ${i}: score ${o.score} vs ${r.score}`);
    for (let k = 0; k < 68; k++) {
      const d = Math.hypot(
        o.landmarks68![k][0] - r.landmarks68[k][0],
        o.landmarks68![k][1] - r.landmarks68[k][1],
      );
      worst.landmarkPx = Math.max(worst.landmarkPx, d);
    }
    for (const [label, p] of Object.entries(r.expressions)) {
      const mine = (exprs[i].scores as Record<string, number>)[FACEAPI_TO_CANONICAL[label]];
      worst.expression = Math.max(worst.expression, Math.abs(mine - p));
    }
  });
  assert.ok(worst.iou >= 0.95, `${name}: IoU ${worst.iou}`);
  assert.ok(worst.landmarkPx <= 1, `${name}: landmarks off by ${worst.landmarkPx} px`);
  assert.ok(worst.expression <= 1e-3, `${name}: expression probabilities off by ${worst.expression}`);
  return worst;
}

async function both(
  name: string,
  image: RawImage,
  detector: DetectorName = "ssd",
): Promise<Worst & { faces: number }> {
  const p = await sharedPipeline();
  const ours = await p.detect(image, { detector });
  const exprs = await classifyBaseline(image, ours);
  const ref = await faceApiDetect(image, { detector });
  return { ...compare(name, ours, exprs, ref), faces: ref.length };
}

Deno.test("ONNX face pipeline matches face-api on the six demo photos (live)", async () => {
  console.log(`face-api backend: ${await loadFaceApi()}`);
  for (const [i, path] of DEMO_PHOTOS.entries()) {
    const w = await both(`sample${i + 1}`, await decodeImage(await Deno.readFile(path)));
    console.log(
      `sample${i + 1}: ${w.faces} faces, min IoU ${w.iou.toFixed(5)}, max landmark error ${
        w.landmarkPx.toFixed(4)
      } px, ` +
        `max expression error ${w.expression.toExponential(1)}`,
    );
    assert.ok(w.faces >= 3);
  }
});

Deno.test("ONNX face pipeline matches face-api on synthetic edge cases", async () => {
  const photo = await decodeImage(await Deno.readFile(DEMO_PHOTOS[0]));
  const solid: RawImage = {
    data: new Uint8Array(300 * 200 * 3).fill(90),
    width: 300,
    height: 200,
    channels: 3,
  };
  const tiny = await decodeImage(
    await Deno.readFile(new URL("../fixtures/images/tiny16.png", import.meta.url)),
  );
  const gray = await decodeImage(
    new Uint8Array(await sharp(await Deno.readFile(DEMO_PHOTOS[1])).grayscale().png().toBuffer()),
  );
  const small = await decodeImage(
    new Uint8Array(await sharp(await Deno.readFile(DEMO_PHOTOS[2])).resize(480).png().toBuffer()),
  );
  // A tall crop of sample1 cutting its first face at the left border (exercises clipping and centred padding).
  const cut = await decodeImage(
    new Uint8Array(
      await sharp(photo.data, { raw: { width: 1920, height: 1280, channels: 3 } })
        .extract({ left: 485, top: 300, width: 420, height: 700 }).png().toBuffer(),
    ),
  );
  for (
    const [name, image, min] of [["solid", solid, 0], ["tiny16", tiny, 0], ["gray", gray, 1], [
      "small",
      small,
      1,
    ], [
      "border",
      cut,
      1,
    ]] as const
  ) {
    const w = await both(name, image);
    console.log(
      `${name}: ${w.faces} faces, min IoU ${w.iou.toFixed(5)}, landmarks ${w.landmarkPx.toFixed(4)} px`,
    );
    assert.ok(w.faces >= min, `${name}: expected at least ${min} faces`);
  }
});

Deno.test("the tiny detector option matches face-api's TinyFaceDetector on the demo photos (live)", async () => {
  for (const [i, path] of DEMO_PHOTOS.entries()) {
    const w = await both(`tiny sample${i + 1}`, await decodeImage(await Deno.readFile(path)), "tiny");
    console.log(
      `tiny sample${i + 1}: ${w.faces} faces, min IoU ${w.iou.toFixed(5)}, landmarks ${
        w.landmarkPx.toFixed(4)
      } px, ` +
        `expressions ${w.expression.toExponential(1)}`,
    );
  }
});

Deno.test("padSquareResize() equals face-api's padToSquare + tf.image.resizeBilinear", async () => {
  await loadFaceApi();
  const tf = faceApiTf();
  const image = await decodeImage(
    await Deno.readFile(new URL("../fixtures/images/rgb.png", import.meta.url)),
  );
  const box = { x: 5, y: 3, width: 37, height: 21 };
  for (const [size, center] of [[112, true], [512, false], [16, true]] as const) {
    const ours = padSquareResize(image, box, size, { center });
    const ref = tf.tidy(() => {
      const t = tf.slice3d(tf.tensor3d(image.data, [48, 64, 3], "int32"), [box.y, box.x, 0], [
        box.height,
        box.width,
        3,
      ]);
      const diff = box.width - box.height, after = Math.round(diff * (center ? 0.5 : 1));
      const padded = tf.pad(tf.cast(t, "float32"), [[center ? diff - after : 0, after], [0, 0], [0, 0]]);
      return tf.image.resizeBilinear(padded, [size, size], false, false).dataSync() as Float32Array;
    });
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(ref[i] - ours[i]));
    assert.ok(max < 1e-3, `size ${size}: max difference ${max}`);
  }
});
