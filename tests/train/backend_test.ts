import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../train/backend.ts";

Deno.test("initBackend() picks a training backend, sets PROD and can train a conv on it", async () => {
  const info = await initBackend();
  assert.equal(tf.getBackend(), info.name);
  assert.equal(tf.env().getBool("PROD"), true);
  if (info.name === "tensorflow") assert.deepEqual(info.customKernels, []);
  else assert.deepEqual(info.customKernels, ["Conv2DBackpropFilter", "Conv2DBackpropInput"]);
  // wasm alone has no Conv2DBackpropFilter: this throws without the project's kernels.
  const [gw] = tf.grads((w: tf.Tensor) =>
    tf.sum(tf.conv2d(tf.ones([1, 5, 5, 2]) as tf.Tensor4D, w as tf.Tensor4D, 2, "same"))
  )([tf.ones([3, 3, 2, 1])]);
  assert.deepEqual(gw.shape, [3, 3, 2, 1]);
  assert.equal((await initBackend()).name, info.name, "second call returns the same backend");
});

Deno.test("initBackend() switches back after someone else changed the backend", async () => {
  const info = await initBackend();
  await tf.setBackend("cpu");
  await initBackend();
  assert.equal(tf.getBackend(), info.name);
});
