/**
 * Turns a built face-api graph into what lands on disk: the ONNX bytes and the `<name>.manifest.json` that
 * describes them (validated by model/manifest.ts), with sha256, size, parameter and FLOP counts and the
 * provenance of the weights it was made from.
 */
import { encodeModel } from "../onnx/helper.ts";
import type { Artifact } from "../artifact.ts";
import { type InputSpec, type Manifest, type OutputSpec, parseManifest, sha256Hex } from "../manifest.ts";
import type { FaceApiWeights } from "../weights/faceapi.ts";
import type { Graph } from "./layers.ts";

/** A graph as a net builder returns it: the model proto object and the running totals. */
export interface BuiltNet {
  model: Record<string, unknown>;
  graph: Graph;
}

/** The parts of a manifest a net's description supplies; the rest is computed here. */
export interface NetDescription {
  id: string;
  file: string;
  task: Manifest["task"];
  architecture: Manifest["architecture"];
  labels?: string[];
  labelOrder?: string;
  input: Omit<InputSpec, "resize"> & { resize: InputSpec["resize"] };
  outputs: OutputSpec[];
  intendedUse: string;
}

/** The face-api release the weights and semantics are taken from. */
export const FACEAPI_SOURCE = "@vladmandic/face-api@1.7.15";
/** The licence note every face-api port's manifest carries. */
export const FACEAPI_LICENSE = "MIT (face-api weights and code by Vladimir Mandic / Vincent Mühler)";
/**
 * Names the builder in every manifest. Bump the version whenever a graph changes for the same weights, so
 * `deno task models --if-missing` rebuilds files written by an older builder.
 */
export const FACEAPI_TOOL = "scan-fer model/models.ts (model/faceapi ONNX port v1, opset 17)";

/** Encodes the model and assembles its validated manifest. Same inputs -> same bytes and manifest. */
export async function packageNet(
  net: BuiltNet,
  description: NetDescription,
  weights: FaceApiWeights,
): Promise<Artifact> {
  const bytes = encodeModel(net.model);
  const manifest = parseManifest({
    schemaVersion: 1,
    id: description.id,
    task: description.task,
    architecture: description.architecture,
    file: description.file,
    sha256: await sha256Hex(bytes),
    bytes: bytes.length,
    opset: 17,
    precision: "fp32",
    labels: description.labels ?? [],
    labelOrder: description.labelOrder,
    input: description.input,
    outputs: description.outputs,
    parameters: net.graph.parameters,
    gflops: Math.round(2 * net.graph.macs / 1e6) / 1e3,
    trained: true,
    provenance: {
      source: `${FACEAPI_SOURCE} model/${weights.files.join(",")}`,
      weightsSha256: weights.weightsSha256,
      tool: FACEAPI_TOOL,
    },
    metrics: [],
    license: FACEAPI_LICENSE,
    intendedUse: description.intendedUse,
  }, description.file);
  return { onnx: bytes, manifest };
}

/**
 * The input spec every face-api port shares: float32 NHWC RGB 0..255 (each graph normalises like face-api), a
 * square of `size` reached by padding to a square first.
 */
export function faceApiInput(size: number): NetDescription["input"] {
  return {
    name: "image",
    shape: ["N", size, size, 3],
    dtype: "float32",
    layout: "NHWC",
    channelOrder: "RGB",
    size: { width: size, height: size },
    scale: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    resize: "pad-square",
  };
}
