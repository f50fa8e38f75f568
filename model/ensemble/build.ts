/**
 * Ensembles as ONNX models: one graph that runs every member expression net on the same crop (resized in the
 * graph to each member's input size), optionally also on the horizontally mirrored crop, maps each member's
 * probabilities to the canonical label order and averages them. The registry serves the result like any other
 * model; what it is made of is data (`ENSEMBLES`: members by id, flip on or off) and the manifest repeats it in
 * `architecture.details`.
 */
import type { Artifact } from "../artifact.ts";
import { EXPRESSION_DESCRIPTION } from "../faceapi/expression.ts";
import { buildExpression } from "../faceapi/expression.ts";
import { type Manifest, parseManifest, sha256Hex } from "../manifest.ts";
import {
  DataType,
  encodeModel,
  type GraphProto,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  type NodeProto,
  type TensorProto,
} from "../onnx/helper.ts";
import { CANONICAL_LABELS, INTENDED_USE, toCanonicalPermutation } from "../spec.ts";
import {
  buildEmotionGraph,
  EMOTION_DESCRIPTION,
  HUMAN_MODELS_LICENSE,
  humanModelPath,
  TFJS_TOOL,
} from "../tfjs/emotion.ts";
import { readFaceApiWeights } from "../weights/faceapi.ts";
import { MEASURED } from "./measured.ts";
import { FACEAPI_LICENSE, FACEAPI_TOOL } from "../faceapi/package.ts";

/** A member: its manifest description and its ONNX graph (one NHWC RGB 0..255 input, one probabilities output). */
interface Member {
  description: Pick<Manifest, "id" | "labels" | "input">;
  graph: () => Promise<GraphProto>;
  /** Multiply-accumulates per image (for the ensemble's GFLOPs). */
  macs: () => Promise<number>;
  /** What its graph is made from (builder version and weights hash): a change makes `--if-missing` rebuild. */
  fingerprint: () => Promise<string>;
  license: string;
}

/** The expression nets an ensemble can use, by model id. */
export const MEMBERS: Record<string, Member> = {
  "faceapi-expression": {
    description: EXPRESSION_DESCRIPTION as Member["description"],
    graph: async () =>
      (buildExpression(await readFaceApiWeights("face_expression_model")).model as { graph: GraphProto })
        .graph,
    macs: async () => buildExpression(await readFaceApiWeights("face_expression_model")).graph.macs,
    fingerprint: async () =>
      `${FACEAPI_TOOL} ${(await readFaceApiWeights("face_expression_model")).weightsSha256}`,
    license: FACEAPI_LICENSE,
  },
  "human-emotion": {
    description: EMOTION_DESCRIPTION as unknown as Member["description"],
    graph: async () => ((await buildEmotionGraph()).model as { graph: GraphProto }).graph,
    macs: async () => (await buildEmotionGraph()).macs,
    fingerprint: async () =>
      `${TFJS_TOOL} ${await sha256Hex(
        await Deno.readFile(humanModelPath("emotion").replace(/\.json$/, ".bin")),
      )}`,
    license: HUMAN_MODELS_LICENSE,
  },
};

/**
 * How the members' probabilities combine: `mean` (arithmetic: the members' probabilities averaged) or
 * `geometric` (the normalised geometric mean, softmax of the mean log-probability: log-linear pooling). A
 * geometric pool lets a member that rules a class out veto it, and its confidences take a temperature well (see
 * the README's calibration section).
 */
export type Pooling = "mean" | "geometric";

/** One ensemble: its id, its members (the first one's input is the ensemble's), flip averaging, pooling. */
export interface EnsembleSpec {
  id: string;
  members: (keyof typeof MEMBERS)[];
  flip: boolean;
  /** Default `mean`. Flip averaging, when on, is always arithmetic, within each member. */
  pooling?: Pooling;
}

/** The ensembles `deno task models` builds. */
export const ENSEMBLES: readonly EnsembleSpec[] = [
  { id: "human-emotion-flip", members: ["human-emotion"], flip: true },
  { id: "ensemble-expression", members: ["faceapi-expression", "human-emotion"], flip: false },
  { id: "ensemble-expression-flip", members: ["faceapi-expression", "human-emotion"], flip: true },
  {
    id: "ensemble-expression-flip-geo",
    members: ["faceapi-expression", "human-emotion"],
    flip: true,
    pooling: "geometric",
  },
];

/** The family of ensembles, the key of its model/architectures.ts entry. */
export const ENSEMBLE_FAMILY = "ensemble";
/** Written into provenance.tool. */
export const ENSEMBLE_TOOL = "scan-fer model/ensemble v1 (opset 17)";

/** Copies a member graph's nodes and initializers under `prefix`, its input wired to `input`. */
function inline(
  g: GraphProto,
  prefix: string,
  input: string,
): { nodes: NodeProto[]; inits: TensorProto[]; output: string } {
  const from = g.input[0].name;
  const rename = (n: string) => (n === from ? input : n === "" ? n : `${prefix}${n}`);
  const nodes = g.node.map((n) => ({
    ...n,
    name: `${prefix}${n.name ?? n.output[0]}`,
    input: n.input.map(rename),
    output: n.output.map(rename),
  }));
  const inits = g.initializer.map((t) => ({ ...t, name: rename(t.name) }));
  return { nodes, inits, output: rename(g.output[0].name) };
}

/**
 * The sha256 of every member's fingerprint (builder version and weights hash), stored as the ensemble's
 * `provenance.weightsSha256`: `deno task models --if-missing` rebuilds the ensemble when it changes.
 */
export async function membersFingerprint(spec: EnsembleSpec): Promise<string> {
  const parts = await Promise.all(spec.members.map((id) => MEMBERS[id].fingerprint()));
  return await sha256Hex(new TextEncoder().encode(parts.join("\n")));
}

/** Builds the ensemble's ONNX bytes and manifest. */
export async function buildEnsemble(spec: EnsembleSpec): Promise<Artifact> {
  const members = spec.members.map((id) => MEMBERS[id]);
  const first = members[0].description.input;
  const size = first.size.width;
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  let x = "image";
  if (spec.flip) {
    // [N,H,W,3] -> [2N,H,W,3]: the crop, then its mirror (W reversed)
    inits.push(
      makeTensor("flip/starts", DataType.INT64, [1], [-1]),
      makeTensor("flip/ends", DataType.INT64, [1], [-(2 ** 31)]),
      makeTensor("flip/axes", DataType.INT64, [1], [2]),
      makeTensor("flip/steps", DataType.INT64, [1], [-1]),
    );
    nodes.push(
      makeNode("Slice", ["image", "flip/starts", "flip/ends", "flip/axes", "flip/steps"], ["flip/mirror"]),
      makeNode("Concat", ["image", "flip/mirror"], ["flip/both"], { axis: 0 }),
    );
    x = "flip/both";
  }
  const parts: string[] = [];
  for (const [i, m] of members.entries()) {
    const p = `m${i}/`;
    let input = x;
    const s = m.description.input.size.width;
    if (s !== size) {
      inits.push(makeTensor(`${p}resize/scales`, DataType.FLOAT, [4], [1, s / size, s / size, 1]));
      nodes.push(makeNode("Resize", [x, "", `${p}resize/scales`], [`${p}resize`], {
        mode: "linear",
        coordinate_transformation_mode: "half_pixel",
      }));
      input = `${p}resize`;
    }
    const g = inline(await m.graph(), p, input);
    nodes.push(...g.nodes);
    inits.push(...g.inits);
    const perm = toCanonicalPermutation(m.description.labels);
    inits.push(makeTensor(`${p}canonical/indices`, DataType.INT64, [perm.length], perm));
    nodes.push(makeNode("Gather", [g.output, `${p}canonical/indices`], [`${p}canonical`], { axis: 1 }));
    let out = `${p}canonical`;
    if (spec.flip) {
      inits.push(makeTensor(`${p}flip/shape`, DataType.INT64, [3], [2, -1, CANONICAL_LABELS.length]));
      nodes.push(
        makeNode("Reshape", [out, `${p}flip/shape`], [`${p}flip/pair`]),
        makeNode("ReduceMean", [`${p}flip/pair`], [`${p}flip/mean`], { axes: [0], keepdims: 0 }),
      );
      out = `${p}flip/mean`;
    }
    parts.push(out);
  }
  const pooling = spec.pooling ?? "mean";
  const pooled = pooling === "geometric" ? "normalised geometric mean" : "mean";
  inits.push(makeTensor("mean/scale", DataType.FLOAT, [], [1 / parts.length]));
  if (pooling === "geometric") {
    // log(max(p, 1e-12)) per member, averaged, then softmax: the geometric mean, renormalised
    inits.push(makeTensor("geo/floor", DataType.FLOAT, [], [1e-12]));
    const logs = parts.map((part, i) => {
      nodes.push(
        makeNode("Max", [part, "geo/floor"], [`m${i}/geo/floored`]),
        makeNode("Log", [`m${i}/geo/floored`], [`m${i}/geo/log`]),
      );
      return `m${i}/geo/log`;
    });
    const sum = logs.length === 1 ? logs[0] : "geo/sum";
    if (logs.length > 1) nodes.push(makeNode("Sum", logs, ["geo/sum"]));
    nodes.push(
      makeNode("Mul", [sum, "mean/scale"], ["geo/mean"]),
      makeNode("Softmax", ["geo/mean"], ["probabilities"], { axis: 1 }),
    );
  } else {
    const sum = parts.length === 1 ? parts[0] : "mean/sum";
    if (parts.length > 1) nodes.push(makeNode("Sum", parts, ["mean/sum"]));
    nodes.push(makeNode("Mul", [sum, "mean/scale"], ["probabilities"]));
  }
  const k = CANONICAL_LABELS.length;
  const graph = makeGraph(
    nodes,
    spec.id.replaceAll("-", "_"),
    [makeValueInfo("image", DataType.FLOAT, ["N", size, size, 3])],
    [makeValueInfo("probabilities", DataType.FLOAT, ["N", k])],
    inits,
  );
  const onnx = encodeModel(makeModel(graph, { docString: `ensemble of ${spec.members.join(", ")}` }));
  let macs = 0;
  for (const m of members) macs += await m.macs();
  const parameters = inits.reduce((n, t) => n + t.raw_data.length / 4, 0);
  const manifest = parseManifest({
    schemaVersion: 1,
    id: spec.id,
    task: "expression",
    architecture: {
      name: "expression-ensemble",
      family: ENSEMBLE_FAMILY,
      version: "1",
      details: {
        members: spec.members,
        flip: spec.flip,
        pooling,
        combine: `${pooled} of the members' probabilities in canonical order` +
          (pooling === "geometric" ? " (softmax of the mean log-probability)" : "") +
          (spec.flip ? ", each first averaged over the crop and its mirror" : ""),
        resize: `each member's input resized in the graph from ${size} px (linear, half_pixel)`,
      },
    },
    file: `${spec.id}.onnx`,
    sha256: await sha256Hex(onnx),
    bytes: onnx.length,
    opset: 17,
    precision: "fp32",
    labels: [...CANONICAL_LABELS],
    labelOrder: "affwild2",
    input: first,
    outputs: [{
      name: "probabilities",
      shape: ["N", k],
      dtype: "float32",
      kind: "probabilities",
      description: `${pooled} of the members' probabilities, in \`labels\` order`,
    }],
    parameters: Math.round(parameters),
    gflops: Math.round(2 * (spec.flip ? 2 : 1) * macs / 1e6) / 1e3,
    trained: true,
    provenance: {
      source: spec.members.join(" + "),
      weightsSha256: await membersFingerprint(spec),
      tool: ENSEMBLE_TOOL,
    },
    metrics: MEASURED[spec.id] ? [MEASURED[spec.id]] : [],
    license: [...new Set(members.map((m) => m.license))].join("; "),
    intendedUse: INTENDED_USE,
  }, `${spec.id}.onnx`);
  return { onnx, manifest };
}
