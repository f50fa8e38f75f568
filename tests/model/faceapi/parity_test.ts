/**
 * The ONNX ports against face-api itself (TensorFlow.js `wasm` backend, or `FACEAPI_BACKEND=cpu`): identical
 * input tensors go into face-api's net forward and into onnxruntime, and the raw outputs must agree. Inputs are
 * synthetic images and two demo photos prepared by face-api's own `toBatchTensor` (and, for the face nets, the
 * face crops face-api's own detector and `extractFaceTensors` produce).
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { encodeModel } from "../../../model/onnx/helper.ts";
import { readFaceApiWeights } from "../../../model/weights/faceapi.ts";
import { FACEAPI_NETS } from "../../../model/faceapi/nets.ts";
import { batchTensorData, decodeSample, faceapi, loadReference, maxAbsDiff, tf } from "./reference.ts";

const PHOTOS = [2, 5];
const sessions = new Map<string, Promise<ort.InferenceSession>>();

function session(id: string): Promise<ort.InferenceSession> {
  if (!sessions.has(id)) {
    const spec = FACEAPI_NETS.find((n) => n.description.id === id)!;
    sessions.set(
      id,
      readFaceApiWeights(spec.weights).then((w) =>
        ort.InferenceSession.create(encodeModel(spec.build(w).model))
      ),
    );
  }
  return sessions.get(id)!;
}

async function runOnnx(id: string, data: Float32Array, dims: number[]): Promise<Record<string, ort.Tensor>> {
  return (await session(id)).run({ image: new ort.Tensor("float32", data, dims) });
}

/** A deterministic pseudo-random image batch (values 0..255 with some structure). */
function synthetic(n: number, size: number, seed: number): Float32Array {
  const out = new Float32Array(n * size * size * 3);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    out[i] = ((i % (size * 3)) * 0.7 + (s % 97)) % 256;
  }
  return out;
}

async function photoTensors() {
  return await Promise.all(PHOTOS.map(async (n) => {
    const img = await decodeSample(n);
    return tf.tensor3d(img.data, [img.height, img.width, 3], "int32");
  }));
}

Deno.test("ssd-mobilenetv1 ONNX matches face-api's raw boxes and scores", async () => {
  await loadReference();
  const photos = await photoTensors();
  const inputs = [
    synthetic(1, 512, 7),
    ...await Promise.all(photos.map((p) => batchTensorData([p], 512, false))),
  ];
  let worstBox = 0, worstScore = 0;
  for (const data of inputs) {
    const x = tf.tensor4d(data, [1, 512, 512, 3]);
    const ref = faceapi.nets.ssdMobilenetv1.forwardInput(await faceapi.toNetInput(x));
    const [boxes, scores] = [await ref.boxes[0].data(), await ref.scores[0].data()];
    tf.dispose([x, ...ref.boxes, ...ref.scores]);
    const out = await runOnnx("ssd-mobilenetv1", data, [1, 512, 512, 3]);
    assert.deepEqual(out.boxes.dims, [1, 5118, 4]);
    assert.deepEqual(out.scores.dims, [1, 5118]);
    worstBox = Math.max(worstBox, maxAbsDiff(out.boxes.data as Float32Array, boxes));
    worstScore = Math.max(worstScore, maxAbsDiff(out.scores.data as Float32Array, scores));
  }
  console.log(
    `ssd: max |box diff| ${worstBox.toExponential(2)}, max |score diff| ${worstScore.toExponential(2)}`,
  );
  assert(worstBox < 1e-4, `boxes differ by ${worstBox} (relative to the 512 frame)`);
  assert(worstScore < 5e-5, `scores differ by ${worstScore}`);
  // The photos really contain faces for the SSD (so the comparison covered confident anchors too).
  const best = Math.max(
    ...(await runOnnx("ssd-mobilenetv1", inputs[2], [1, 512, 512, 3])).scores.data as Float32Array,
  );
  assert(best > 0.9, `best face score on sample${PHOTOS[1]} is ${best}`);
  tf.dispose(photos);
});

Deno.test("landmarks68 and faceapi-expression ONNX match face-api on detected face crops and a synthetic batch", async () => {
  await loadReference();
  const photos = await photoTensors();
  // deno-lint-ignore no-explicit-any
  const crops: any[] = [];
  for (const photo of photos) {
    const dets = await faceapi.nets.ssdMobilenetv1.locateFaces(photo, {});
    crops.push(...await faceapi.extractFaceTensors(photo, dets));
  }
  assert(crops.length >= 6, `expected >= 6 faces in samples ${PHOTOS}, got ${crops.length}`);
  const faces = await batchTensorData(crops, 112, true);
  const batches = [{ data: faces, n: crops.length }, { data: synthetic(2, 112, 11), n: 2 }];
  const worst: Record<string, number> = { landmarks68: 0, "faceapi-expression": 0 };
  for (const { data, n } of batches) {
    const x = tf.tensor4d(data, [n, 112, 112, 3]);
    const input = await faceapi.toNetInput(tf.unstack(x));
    const refLandmarks = faceapi.nets.faceLandmark68Net.runNet(input);
    const refExpressions = faceapi.nets.faceExpressionNet.forwardInput(input);
    const lm = await runOnnx("landmarks68", data, [n, 112, 112, 3]);
    const ex = await runOnnx("faceapi-expression", data, [n, 112, 112, 3]);
    assert.deepEqual(lm.landmarks.dims, [n, 136]);
    assert.deepEqual(ex.probabilities.dims, [n, 7]);
    worst.landmarks68 = Math.max(
      worst.landmarks68,
      maxAbsDiff(lm.landmarks.data as Float32Array, await refLandmarks.data()),
    );
    worst["faceapi-expression"] = Math.max(
      worst["faceapi-expression"],
      maxAbsDiff(ex.probabilities.data as Float32Array, await refExpressions.data()),
    );
    tf.dispose([x, refLandmarks, refExpressions, ...input.imageTensors]);
  }
  console.log(
    `landmarks: max |diff| ${worst.landmarks68.toExponential(2)}, expressions: ${
      worst["faceapi-expression"].toExponential(2)
    }`,
  );
  assert(worst.landmarks68 < 1e-4, `landmarks differ by ${worst.landmarks68} (relative to the 112 crop)`);
  assert(worst["faceapi-expression"] < 5e-5, `probabilities differ by ${worst["faceapi-expression"]}`);
  tf.dispose([...photos, ...crops]);
});

Deno.test("tiny-face-detector ONNX matches face-api's raw 13x13 grid", async () => {
  await loadReference();
  const [photo] = await photoTensors();
  const inputs = [synthetic(1, 416, 3), await batchTensorData([photo], 416, false)];
  let worst = 0;
  for (const data of inputs) {
    const x = tf.tensor4d(data, [1, 416, 416, 3]);
    const ref = faceapi.nets.tinyFaceDetector.forwardInput(await faceapi.toNetInput(x), 416);
    const out = await runOnnx("tiny-face-detector", data, [1, 416, 416, 3]);
    assert.deepEqual(out.grid.dims, [1, 13, 13, 25]);
    worst = Math.max(worst, maxAbsDiff(out.grid.data as Float32Array, await ref.data()));
    tf.dispose([x, ref]);
  }
  console.log(`tiny: max |grid diff| ${worst.toExponential(2)}`);
  assert(worst < 1e-3, `grid logits differ by ${worst}`);
  tf.dispose(photo);
});
