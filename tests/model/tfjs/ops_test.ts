/**
 * The tfjs -> ONNX converter op by op: small generated graph models (random weights, a few nodes each, stored as
 * float32 and as the converter's float16/uint8 quantized shards) run in tfjs (wasm) and, converted, in
 * onnxruntime on the same generated input; outputs must agree within 1e-5.
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
  toHalf,
} from "../../../model/onnx/helper.ts";
import { convertTfjsGraph } from "../../../model/tfjs/convert.ts";
import {
  parseTfjsGraph,
  type TfjsModelJson,
  type TfjsNode,
  type TfjsWeightSpec,
} from "../../../model/tfjs/read.ts";
import { tfjsReference } from "./reference.ts";

type Quant = "none" | "float16" | "uint8";

/** A deterministic generator in [-1, 1). */
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x40000000) - 1;
}

/** A graph model under construction: nodes, weights and their bytes. */
class Builder {
  nodes: TfjsNode[] = [];
  specs: TfjsWeightSpec[] = [];
  chunks: Uint8Array[] = [];
  rnd = random(11);
  constructor(readonly quant: Quant = "none") {}

  input(name: string, shape: number[]): string {
    this.nodes.push({
      name,
      op: "Placeholder",
      attr: {
        shape: { shape: { dim: shape.map((size) => ({ size: String(size) })) } },
        dtype: { type: "DT_FLOAT" },
      },
    });
    return name;
  }

  weight(name: string, shape: number[], values?: number[], dtype: "float32" | "int32" = "float32"): string {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = values ?? Array.from({ length: n }, () => this.rnd() * 0.5);
    const spec: TfjsWeightSpec = { name, shape, dtype };
    if (dtype === "int32") this.chunks.push(new Uint8Array(Int32Array.from(v).buffer));
    else if (this.quant === "float16") {
      spec.quantization = { dtype: "float16" };
      this.chunks.push(new Uint8Array(Uint16Array.from(v, toHalf).buffer));
    } else if (this.quant === "uint8") {
      const min = Math.min(...v), max = Math.max(...v), scale = (max - min) / 255 || 1;
      spec.quantization = { dtype: "uint8", scale, min };
      this.chunks.push(Uint8Array.from(v, (x) => Math.round((x - min) / scale)));
    } else this.chunks.push(new Uint8Array(Float32Array.from(v).buffer));
    this.specs.push(spec);
    this.nodes.push({
      name,
      op: "Const",
      attr: { dtype: { type: dtype === "int32" ? "DT_INT32" : "DT_FLOAT" } },
    });
    return name;
  }

  op(name: string, op: string, input: string[], attr: Record<string, unknown> = {}): string {
    const enc = (v: unknown): unknown => {
      if (typeof v === "string") return { s: btoa(v) };
      if (typeof v === "boolean") return { b: v };
      if (Array.isArray(v)) {
        return typeof v[0] === "string"
          ? { list: { s: v.map((x) => btoa(x)) } }
          : { list: { i: v.map(String) } };
      }
      return v;
    };
    this.nodes.push({
      name,
      op,
      input,
      attr: Object.fromEntries(Object.entries(attr).map(([k, v]) => [k, enc(v)])) as TfjsNode["attr"],
    });
    return name;
  }

  json(): { json: TfjsModelJson; data: Uint8Array } {
    const data = new Uint8Array(this.chunks.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of this.chunks) data.set(c, at), at += c.length;
    return {
      json: {
        format: "graph-model",
        modelTopology: { node: this.nodes, versions: { producer: 1, minConsumer: 0 } },
        weightsManifest: [{ paths: ["w.bin"], weights: this.specs }],
      },
      data,
    };
  }
}

/** Runs the graph in tfjs and, converted, in onnxruntime; returns the max abs difference. */
async function compare(b: Builder, inputShape: number[], output: string): Promise<number> {
  const { tf, fromMemory } = await tfjsReference();
  const { json, data } = b.json();
  const model = await fromMemory(json, data);
  const rnd = random(3);
  const n = inputShape.reduce((a, c) => a * c, 1);
  const x = Float32Array.from({ length: n }, () => rnd() * 2);
  const xt = tf.tensor(x, inputShape);
  const yt = model.execute(xt, output) as { dataSync(): Float32Array; shape: number[]; dispose(): void };
  const want = yt.dataSync(), shape = yt.shape;
  xt.dispose(), yt.dispose();
  const c = convertTfjsGraph(parseTfjsGraph(json, data), { input: "x", outputs: [output] });
  const graph = makeGraph(
    [...c.nodes, makeNode("Identity", [c.outputs[0]], ["y"])],
    "t",
    [makeValueInfo("x", DataType.FLOAT, inputShape)],
    [makeValueInfo("y", DataType.FLOAT, shape)],
    c.initializers,
  );
  const session = await ort.InferenceSession.create(encodeModel(makeModel(graph)));
  const got = (await session.run({ x: new ort.Tensor("float32", x, inputShape) })).y.data as Float32Array;
  assert.equal(got.length, want.length, "output size");
  let diff = 0;
  for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
  return diff;
}

const NHWC = "NHWC";
const fusedConv = (
  b: Builder,
  name: string,
  x: string,
  k: number,
  ci: number,
  co: number,
  stride: number,
  padding: string,
  ops: string[],
) =>
  b.op(name, "_FusedConv2D", [x, b.weight(`${name}/w`, [k, k, ci, co]), b.weight(`${name}/b`, [co])], {
    fused_ops: ops,
    strides: [1, stride, stride, 1],
    dilations: [1, 1, 1, 1],
    padding,
    data_format: NHWC,
    num_args: { i: "1" },
  });

for (const quant of ["none", "float16", "uint8"] as const) {
  Deno.test(`_FusedConv2D (BiasAdd, Relu), SAME stride 2 and VALID, weights ${quant}`, async () => {
    const b = new Builder(quant);
    const x = b.input("x", [2, 9, 8, 3]);
    const a = fusedConv(b, "c1", x, 3, 3, 4, 2, "SAME", ["BiasAdd", "Relu"]);
    fusedConv(b, "c2", a, 3, 4, 5, 1, "VALID", ["BiasAdd"]);
    assert.ok(await compare(b, [2, 9, 8, 3], "c2") <= 1e-5);
  });
}

Deno.test("DepthwiseConv2dNative (multiplier 2) and MaxPool, SAME", async () => {
  const b = new Builder();
  const x = b.input("x", [1, 7, 7, 3]);
  const d = b.op("dw", "DepthwiseConv2dNative", [x, b.weight("dw/w", [3, 3, 3, 2])], {
    strides: [1, 1, 1, 1],
    dilations: [1, 1, 1, 1],
    padding: "SAME",
    data_format: NHWC,
  });
  b.op("mp", "MaxPool", [d], {
    ksize: [1, 3, 3, 1],
    strides: [1, 2, 2, 1],
    padding: "SAME",
    data_format: NHWC,
  });
  assert.ok(await compare(b, [1, 7, 7, 3], "mp") <= 1e-5);
});

Deno.test("AddV2 of two maps and of a channel constant, Relu, Identity", async () => {
  const b = new Builder();
  const x = b.input("x", [1, 5, 5, 4]);
  const c = fusedConv(b, "c", x, 1, 4, 4, 1, "SAME", ["BiasAdd"]);
  const s = b.op("s", "AddV2", [c, x]);
  const t = b.op("t", "AddV2", [s, b.weight("bias", [4])]);
  b.op("out", "Identity", [b.op("r", "Relu", [t])]);
  assert.ok(await compare(b, [1, 5, 5, 4], "out") <= 1e-5);
});

Deno.test("Pad, Mean over H and W, Softmax", async () => {
  const b = new Builder();
  const x = b.input("x", [2, 4, 4, 3]);
  const p = b.op("p", "Pad", [x, b.weight("pads", [4, 2], [0, 0, 1, 2, 0, 1, 0, 0], "int32")]);
  const c = fusedConv(b, "c", p, 3, 3, 6, 1, "VALID", ["BiasAdd"]);
  const m = b.op("m", "Mean", [c, b.weight("axes", [2], [1, 2], "int32")], { keep_dims: false });
  b.op("sm", "Softmax", [m]);
  assert.ok(await compare(b, [2, 4, 4, 3], "sm") <= 1e-5);
});

Deno.test("Reshape of a feature map and ConcatV2 (BlazeFace heads)", async () => {
  const b = new Builder();
  const x = b.input("x", [1, 4, 4, 2]);
  const c1 = fusedConv(b, "h1", x, 1, 2, 6, 1, "SAME", ["BiasAdd"]);
  const c2 = fusedConv(b, "h2", x, 1, 2, 3, 2, "SAME", ["BiasAdd"]);
  const r1 = b.op("r1", "Reshape", [c1, b.weight("s1", [3], [1, 32, 3], "int32")]);
  const r2 = b.op("r2", "Reshape", [c2, b.weight("s2", [3], [1, 4, 3], "int32")]);
  b.op("cat", "ConcatV2", [r1, r2, b.weight("axis", [], [1], "int32")]);
  assert.ok(await compare(b, [1, 4, 4, 2], "cat") <= 1e-5);
});

Deno.test("an op outside the table is refused by name", () => {
  const b = new Builder();
  const x = b.input("x", [1, 2, 2, 1]);
  b.op("e", "Erf", [x]);
  const { json, data } = b.json();
  assert.throws(() => convertTfjsGraph(parseTfjsGraph(json, data)), /unsupported ops Erf/);
});
