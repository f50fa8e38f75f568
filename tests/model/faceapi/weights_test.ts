import assert from "node:assert/strict";
import { join } from "node:path";
import { faceApiModelDir, getWeight, readFaceApiWeights } from "../../../model/weights/faceapi.ts";
import { sha256Hex } from "../../../model/manifest.ts";
import { loadReference, tf } from "./reference.ts";

const MODELS = [
  "ssd_mobilenetv1_model",
  "tiny_face_detector_model",
  "face_landmark_68_model",
  "face_expression_model",
];

Deno.test("readFaceApiWeights() dequantises every entry exactly like tfjs io.decodeWeights", async () => {
  await loadReference();
  const dir = faceApiModelDir();
  for (const model of MODELS) {
    const ours = await readFaceApiWeights(model);
    const [group] = JSON.parse(await Deno.readTextFile(join(dir, `${model}-weights_manifest.json`)));
    const bin = await Deno.readFile(join(dir, group.paths[0]));
    const theirs = tf.io.decodeWeights(bin.buffer, group.weights);
    assert.deepEqual([...ours.tensors.keys()].sort(), Object.keys(theirs).sort(), model);
    for (const [name, t] of ours.tensors) {
      assert.deepEqual(t.shape, theirs[name].shape, name);
      assert.deepEqual(t.values, await theirs[name].data(), `${model} ${name}`);
    }
    tf.dispose(Object.values(theirs));
    assert.equal(ours.weightsSha256, await sha256Hex(bin));
  }
});

Deno.test("readFaceApiWeights() reads uint8-quantised weights (the SSD bin is ~4x smaller than float32)", async () => {
  const w = await readFaceApiWeights("ssd_mobilenetv1_model");
  const filters = getWeight(w, "MobilenetV1/Conv2d_1_pointwise/weights", [1, 1, 32, 64]);
  // 256 levels at most: quantised values take few distinct values.
  assert.ok(new Set(filters).size <= 256);
  assert.ok(filters.some((v) => v !== 0));
  // The anchors are stored as plain float32 and are boxes (y1, x1, y2, x2) with y2 > y1.
  const priors = getWeight(w, "Output/extra_dim", [1, 5118, 4]);
  for (let a = 0; a < 5118; a++) {
    assert.ok(priors[a * 4 + 2] > priors[a * 4] && priors[a * 4 + 3] > priors[a * 4 + 1]);
  }
});

Deno.test("readFaceApiWeights() names the entry when the shard is truncated", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const dir = faceApiModelDir();
    await Deno.copyFile(
      join(dir, "face_expression_model-weights_manifest.json"),
      join(tmp, "face_expression_model-weights_manifest.json"),
    );
    const bin = await Deno.readFile(join(dir, "face_expression_model.bin"));
    await Deno.writeFile(join(tmp, "face_expression_model.bin"), bin.subarray(0, bin.length - 100));
    await assert.rejects(
      () => readFaceApiWeights("face_expression_model", { dir: tmp }),
      /Cannot read weights "face_expression_model": entry "fc\/weights" needs bytes/,
    );
    await assert.rejects(() => readFaceApiWeights("nope_model", { dir: tmp }), /Cannot read weight manifest/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("getWeight() rejects a missing name or a wrong shape", async () => {
  const w = await readFaceApiWeights("face_expression_model");
  assert.equal(getWeight(w, "fc/bias", [7]).length, 7);
  assert.throws(() => getWeight(w, "fc/bias", [8]), /shape is \[7\], expected \[8\]/);
  assert.throws(() => getWeight(w, "fc/nothing"), /Cannot find weight "fc\/nothing"/);
});
