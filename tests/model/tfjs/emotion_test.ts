/**
 * The converted `emotion` net against tfjs itself (wasm backend) running the package's own model.json on the
 * same generated inputs: the ONNX graph (with its in-graph grayscale) must match human's preprocessing + net.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { encodeModel } from "../../../model/onnx/helper.ts";
import { buildEmotionGraph, humanModelPath } from "../../../model/tfjs/emotion.ts";
import { tfjsReference } from "./reference.ts";

Deno.test("converted emotion net matches tfjs on generated faces (<= 1e-5)", async () => {
  const { tf, loadGraph } = await tfjsReference();
  const model = await loadGraph(humanModelPath("emotion"));
  const built = await buildEmotionGraph();
  const session = await ort.InferenceSession.create(encodeModel(built.model));
  const n = 2, s = 64;
  const rgb = new Float32Array(n * s * s * 3);
  let seed = 7;
  for (let i = 0; i < rgb.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    rgb[i] = ((i % (s * 3)) * 1.3 + (seed % 61)) % 256;
  }
  const got = (await session.run({ image: new ort.Tensor("float32", rgb, [n, s, s, 3]) })).probabilities
    .data as Float32Array;
  // human: mul by rgb weights on 0..1, sum over channels, (x - 0.5) * 2
  const want = tf.tidy(() => {
    const x = tf.tensor4d(rgb, [n, s, s, 3]).div(255);
    const gray = x.mul(tf.tensor1d([0.2989, 0.587, 0.114])).sum(3, true).sub(0.5).mul(2);
    return model.execute(gray).dataSync() as Float32Array;
  });
  assert.equal(got.length, n * 7);
  let diff = 0;
  for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
  assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
  assert.ok(built.parameters > 50_000, `parameters ${built.parameters}`);
});
