/**
 * SCAN+CCI weights -> a validated artifact: the ONNX bytes of `scanCciModel` and the manifest that describes them
 * (labels in output order, input spec, output kinds, sha256, parameter and FLOP counts, provenance, licence).
 * `deno task model:build` (model/build.ts) and the trainer's exporter both build through {@link buildScanCci}.
 */
import { basename } from "node:path";
import type { Artifact } from "../artifact.ts";
import { type Metrics, parseManifest, sha256Hex } from "../manifest.ts";
import { INTENDED_USE, LABEL_ORDERS, SCAN_CCI_INPUT } from "../spec.ts";
import { vggface2Backbone } from "../weights/vggface2.ts";
import { scanCciModel } from "./model.ts";
import { countTrainable, scanCciParamSpecs, type TensorData } from "./params.ts";
import { randomScanCci } from "./random.ts";

/** What SCAN+CCI manifests say they are; `family` is the key of model/architectures.ts's table. */
export const SCAN_CCI_ARCHITECTURE = { family: "scan-cci", name: "SCAN+CCI", version: "1" } as const;

/** Names the builder in every manifest's provenance. */
const TOOL = "scan-fer model/build.ts";
const LICENSE_TRAINED =
  "Code: scan-fer (ours). Weights: trained on research-only datasets (e.g. AffectNet, " +
  "Aff-Wild2, VGGFace2); they carry those datasets' licences (typically non-commercial research use only).";
const LICENSE_RANDOM =
  "Code: scan-fer (ours). Expression heads are random initialisation (no training data)." +
  " A VGGFace2 backbone, if used, carries the VGGFace2 licence (non-commercial research use).";

/** What `buildScanCci` needs: weights (reference names), the native label order, and provenance. */
export interface BuildScanCciOptions {
  tensors: Map<string, TensorData>;
  /** Native label order of the weights, e.g. "affectnet" or "affwild2", or explicit canonical names. */
  labels: keyof typeof LABEL_ORDERS | readonly string[];
  fp16?: boolean;
  width?: number;
  id?: string;
  source: string;
  trained: boolean;
  weightsSha256?: string;
  seed?: number;
  metrics?: Metrics[];
}

/**
 * Builds the ONNX bytes and a validated manifest (labels in output order, input spec, outputs, sha256, bytes,
 * trainable parameter count, GFLOPs counted from the graph's Conv/MatMul/Gemm, provenance, licence note).
 * Throws one error listing every weight problem; returns nothing partial.
 */
export async function buildScanCci(
  {
    tensors,
    labels,
    fp16 = false,
    width,
    id = "scan-cci",
    source,
    trained,
    weightsSha256,
    seed,
    metrics = [],
  }: BuildScanCciOptions,
): Promise<Artifact> {
  const labelOrder = typeof labels === "string" ? labels : undefined;
  const names = typeof labels === "string" ? LABEL_ORDERS[labels] : labels;
  if (!names) {
    throw new Error(
      `Cannot build SCAN+CCI: unknown label order "${labels}" (use ${Object.keys(LABEL_ORDERS).join(", ")})`,
    );
  }
  const built = scanCciModel(tensors, {
    fp16,
    width,
    classes: names.length,
    metadata: { id, labels: names.join(","), ...(labelOrder ? { labelOrder } : {}) },
  });
  const manifest = parseManifest({
    schemaVersion: 1,
    id,
    task: "expression",
    architecture: {
      ...SCAN_CCI_ARCHITECTURE,
      details: {
        backbone: "ResNet-50 (Bottleneck v1.5) conv1..layer3",
        width: built.width,
        localPatches: 25,
        cciRegions: 4,
        heads: ["attention", "region_tl", "region_tr", "region_bl", "region_br"],
        io: "float32 (fp16 models cast inside the graph)",
        paper: "Gera & Balasubramanian, ABAW 2020, arXiv:2007.10298",
      },
    },
    file: `${id}.onnx`,
    sha256: await sha256Hex(built.bytes),
    bytes: built.bytes.length,
    opset: 17,
    precision: fp16 ? "fp16" : "fp32",
    labels: [...names],
    labelOrder,
    input: {
      name: SCAN_CCI_INPUT.name,
      shape: ["N", 3, SCAN_CCI_INPUT.size, SCAN_CCI_INPUT.size],
      dtype: "float32",
      layout: SCAN_CCI_INPUT.layout,
      channelOrder: SCAN_CCI_INPUT.channelOrder,
      size: { width: SCAN_CCI_INPUT.size, height: SCAN_CCI_INPUT.size },
      scale: SCAN_CCI_INPUT.scale,
      mean: [...SCAN_CCI_INPUT.mean],
      std: [...SCAN_CCI_INPUT.std],
      resize: "fill",
    },
    outputs: [
      {
        name: "logits",
        shape: ["N", names.length],
        dtype: "float32",
        kind: "logits",
        description: "mean of the 5 head logits",
      },
      {
        name: "head_logits",
        shape: ["N", 5, names.length],
        dtype: "float32",
        kind: "logits",
        description: "attention, region TL, TR, BL, BR logits",
      },
      {
        name: "attention_map",
        shape: ["N", 28, 28],
        dtype: "float32",
        kind: "attention",
        description: "channel mean of the global SCAN weights (sigmoid, 0..1) over the 28x28 layer2 grid",
      },
    ],
    parameters: countTrainable(scanCciParamSpecs({ width: built.width, classes: names.length })),
    gflops: Math.round(built.flopsPerImage / 1e6) / 1e3,
    trained,
    provenance: { source, weightsSha256, seed, tool: TOOL },
    metrics,
    license: trained ? LICENSE_TRAINED : LICENSE_RANDOM,
    intendedUse: INTENDED_USE,
  }, `${id}.manifest.json`);
  return { onnx: built.bytes, manifest };
}

/** Untrained SCAN+CCI weights for a build: the tensors and the provenance the manifest records. */
export interface SeededWeights {
  tensors: Map<string, TensorData>;
  source: string;
  weightsSha256?: string;
}

/**
 * The reference's PyTorch initialisation for `seed` (untrained), optionally with the VGGFace2 backbone from the
 * bytes of `resnet50_ft_weight.pkl` (full width only; `file` names it in the provenance).
 */
export async function seededScanCciWeights(
  { seed, width = 1, classes, backbone }: {
    seed?: number;
    width?: number;
    classes: number;
    backbone?: { bytes: Uint8Array; file: string };
  },
): Promise<SeededWeights> {
  const tensors = randomScanCci({ seed, width, classes });
  if (!backbone) return { tensors, source: "random-init:pytorch-defaults" };
  for (const [k, v] of vggface2Backbone(backbone.bytes)) tensors.set(k, v);
  return {
    tensors,
    source: `vggface2-backbone:${basename(backbone.file)}+random-heads`,
    weightsSha256: await sha256Hex(backbone.bytes),
  };
}
