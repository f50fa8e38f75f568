/**
 * A tiny real ONNX "expression model" for evaluation tests: mean colour per channel -> Gemm with the fixtures'
 * colour code (class k has red = bit 2, green = bit 1, blue = bit 0 of k), so it predicts a fixture image's
 * class from its colour. Written with the project's graph builder and a valid manifest (`trained: false`).
 */
import { join } from "node:path";
import {
  DataType,
  encodeModel,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
} from "../../model/onnx/helper.ts";
import { sha256Hex } from "../../model/manifest.ts";
import { CANONICAL_LABELS, SCAN_CCI_INPUT } from "../../model/spec.ts";

/** Writes `colour.onnx` + `colour.manifest.json` into `dir` and returns the manifest path. */
export async function writeColourModel(
  dir: string,
  labels: readonly string[] = CANONICAL_LABELS,
): Promise<string> {
  const k = labels.length;
  const w: number[] = [];
  for (let c = 0; c < k; c++) w.push(c & 4 ? 1 : -1, c & 2 ? 1 : -1, c & 1 ? 1 : -1);
  const graph = makeGraph(
    [
      makeNode("ReduceMean", ["input"], ["mean"], { axes: [2, 3], keepdims: 0 }),
      makeNode("Gemm", ["mean", "w"], ["logits"], { transB: 1 }),
    ],
    "colour",
    [makeValueInfo("input", DataType.FLOAT, ["N", 3, 224, 224])],
    [makeValueInfo("logits", DataType.FLOAT, ["N", k])],
    [makeTensor("w", DataType.FLOAT, [k, 3], w)],
  );
  const bytes = encodeModel(makeModel(graph, { opset: 17 }));
  await Deno.writeFile(join(dir, "colour.onnx"), bytes);
  const manifest = {
    schemaVersion: 1,
    id: "colour-test",
    task: "expression",
    architecture: { name: "colour-mean", version: "1" },
    file: "colour.onnx",
    sha256: await sha256Hex(bytes),
    bytes: bytes.length,
    opset: 17,
    precision: "fp32",
    labels: [...labels],
    input: {
      name: "input",
      shape: ["N", 3, 224, 224],
      dtype: "float32",
      layout: "NCHW",
      channelOrder: "RGB",
      size: { width: 224, height: 224 },
      scale: SCAN_CCI_INPUT.scale,
      mean: [...SCAN_CCI_INPUT.mean],
      std: [...SCAN_CCI_INPUT.std],
    },
    outputs: [{ name: "logits", shape: ["N", k], dtype: "float32" }],
    parameters: 3 * k,
    gflops: 0,
    trained: false,
    provenance: { source: "tests/train/colour_model.ts", tool: "test" },
    license: "MIT",
    intendedUse: "tests only",
  };
  const path = join(dir, "colour.manifest.json");
  await Deno.writeTextFile(path, JSON.stringify(manifest, null, 2));
  return path;
}
