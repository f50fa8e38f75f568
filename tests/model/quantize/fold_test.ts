/**
 * BatchNormalization folding before quantization (model/quantize/fold.ts): a Conv -> BN -> Add(residual) -> Relu
 * block gives the same fp32 outputs folded and unfolded, loses its BN node, and after folding the residual Add
 * reads two quantizable tensors, so the plan quantizes its output (QLinearAdd in onnxruntime).
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import {
  DataType,
  encodeModel,
  float,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
} from "../../../model/onnx/helper.ts";
import { foldBatchNorms } from "../../../model/quantize/fold.ts";
import { nodeKey, planQuantization, readOnnx, writeOnnx } from "../../../model/quantize/graph.ts";

function values(n: number, seed: number, scale = 1, offset = 0): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return offset + scale * ((s % 2000) / 1000 - 1);
  });
}

function block(): Uint8Array {
  const c = 4;
  const nodes = [
    makeNode("Conv", ["x", "w0", "b0"], ["h"], { pads: [1, 1, 1, 1] }),
    makeNode("Conv", ["h", "w1"], ["c1"], { pads: [1, 1, 1, 1] }),
    makeNode("BatchNormalization", ["c1", "g", "beta", "mean", "var"], ["bn"], { epsilon: float(1e-3) }),
    makeNode("Add", ["bn", "h"], ["sum"]),
    makeNode("Relu", ["sum"], ["y0"]),
    makeNode("Conv", ["y0", "w2"], ["y"], {}),
  ];
  const graph = makeGraph(
    nodes,
    "fold",
    [makeValueInfo("x", DataType.FLOAT, [1, 3, 8, 8])],
    [makeValueInfo("y", DataType.FLOAT, [1, 2, 8, 8])],
    [
      makeTensor("w0", DataType.FLOAT, [c, 3, 3, 3], values(c * 27, 1, 0.3)),
      makeTensor("b0", DataType.FLOAT, [c], values(c, 2, 0.1)),
      makeTensor("w1", DataType.FLOAT, [c, c, 3, 3], values(c * c * 9, 3, 0.3)),
      makeTensor("g", DataType.FLOAT, [c], values(c, 4, 0.5, 1)),
      makeTensor("beta", DataType.FLOAT, [c], values(c, 5, 0.2)),
      makeTensor("mean", DataType.FLOAT, [c], values(c, 6, 0.3)),
      makeTensor("var", DataType.FLOAT, [c], values(c, 7, 0.4, 1)),
      makeTensor("w2", DataType.FLOAT, [2, c, 1, 1], values(2 * c, 8, 0.5)),
    ],
  );
  return encodeModel(makeModel(graph));
}

async function run(bytes: Uint8Array, x: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  return (await s.run({ x: new ort.Tensor("float32", x, [1, 3, 8, 8]) })).y.data as Float32Array;
}

Deno.test("foldBatchNorms() merges Conv -> BN, same outputs, and frees the residual Add for quantization", async () => {
  const bytes = block();
  const model = readOnnx(bytes);
  assert.equal(planQuantization(model).activations.includes("sum"), false, "unfolded: BN blocks the Add");
  const { model: folded, folded: n } = foldBatchNorms(model);
  assert.equal(n, 1);
  assert.equal(folded.graph.node.some((x) => x.op_type === "BatchNormalization"), false);
  assert.ok(planQuantization(folded).activations.includes("sum"), "folded: the Add output is quantized");
  const x = Float32Array.from(values(3 * 64, 9, 1));
  const [a, b] = [await run(bytes, x), await run(writeOnnx(folded), x)];
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  assert.ok(diff < 1e-5, `max abs diff ${diff}`);
});

Deno.test("planQuantization() leaves the nodes named in keepFloat out of the plan", async () => {
  const { buildFaceApiModels } = await import("../../../model/faceapi/nets.ts");
  const dir = new URL("../../../artifacts/models/", import.meta.url).pathname;
  await buildFaceApiModels({ out: dir, ifMissing: true });
  const model = readOnnx(await Deno.readFile(dir + "face-expression.onnx"));
  const all = planQuantization(model);
  assert.ok(all.nodes.length > 2);
  const first = all.nodes[0].node, last = all.nodes.at(-1)!.node;
  const keep = new Set([nodeKey(first), nodeKey(last)]);
  const mixed = planQuantization(model, { keepFloat: keep });
  assert.equal(mixed.nodes.length, all.nodes.length - 2);
  assert.ok(mixed.nodes.every((n) => !keep.has(nodeKey(n.node))));
  assert.ok(!mixed.activations.includes(first.input[0]), "the first node's input is no longer quantized");
});
