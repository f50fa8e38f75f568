/**
 * The tensor side of the Open Inference Protocol (KServe V2) `infer` call: a request's input tensors checked
 * against the model's manifest (name, `FP32`, shape with the batch dimension free up to a limit, element count)
 * and turned into session feeds, and the session's results as V2 output tensors named as the manifest's outputs.
 * No image handling: the caller sends the model's own input tensor, preprocessed as the manifest says.
 */
import type { Manifest } from "../model/manifest.ts";
import { ApiError } from "./errors.ts";
import type { TensorData } from "./session.ts";

/** One V2 input tensor as JSON carries it (row-major flat `data`). */
export interface V2InputTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

/** One V2 output tensor. */
export interface V2OutputTensor {
  name: string;
  shape: number[];
  datatype: "FP32";
  data: number[];
}

function invalid(message: string, path: string, expected: string): ApiError {
  return new ApiError("invalid_request", `Cannot run model: ${message}`, {
    issues: [{ path, message: `expected ${expected}` }],
  });
}

/**
 * The session feeds for a request's inputs: exactly the manifest's one input, `FP32`, with the manifest's shape
 * (a named dimension such as the batch `N` takes any size from 1, the first at most `maxBatch`) and as many
 * elements as the shape holds. 400 naming the tensor and what it should be otherwise.
 */
export function v2Feeds(
  manifest: Manifest,
  inputs: readonly V2InputTensor[],
  { maxBatch }: { maxBatch: number },
): Record<string, TensorData> {
  const spec = manifest.input;
  const want = spec.shape.map((d) => (typeof d === "number" ? String(d) : d)).join(", ");
  if (inputs.length !== 1 || inputs[0].name !== spec.name) {
    throw invalid(
      `expected one input tensor "${spec.name}", got ${
        inputs.map((t) => `"${t.name}"`).join(", ") || "none"
      }`,
      "inputs",
      `one tensor named "${spec.name}"`,
    );
  }
  const [t] = inputs;
  if (t.datatype !== "FP32") {
    throw invalid(`input "${t.name}" has datatype "${t.datatype}"`, "inputs.0.datatype", "FP32");
  }
  const fits = t.shape.length === spec.shape.length && t.shape.every((d, i) => {
    const s = spec.shape[i];
    return Number.isInteger(d) && (typeof s === "number" ? d === s : d >= 1 && (i > 0 || d <= maxBatch));
  });
  if (!fits) {
    throw invalid(
      `input "${t.name}" has shape [${t.shape.join(", ")}], not [${want}] (batch at most ${maxBatch})`,
      "inputs.0.shape",
      `[${want}]`,
    );
  }
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw invalid(
      `input "${t.name}" has ${t.data.length} values for shape [${t.shape.join(", ")}] (${count})`,
      "inputs.0.data",
      `${count} numbers, row-major`,
    );
  }
  return { [spec.name]: { data: Float32Array.from(t.data), dims: [...t.shape] } };
}

/** The output names to compute: the requested ones (each must be a manifest output) or all of them. */
export function v2OutputNames(manifest: Manifest, requested?: readonly { name: string }[]): string[] {
  const names = manifest.outputs.map((o) => o.name);
  if (!requested?.length) return names;
  for (const [i, r] of requested.entries()) {
    if (!names.includes(r.name)) {
      throw invalid(
        `no output "${r.name}" (outputs: ${names.join(", ")})`,
        `outputs.${i}.name`,
        `one of ${names.join(", ")}`,
      );
    }
  }
  return requested.map((r) => r.name);
}

/** Session results as V2 output tensors, in the order of `names`. */
export function v2Outputs(results: Record<string, TensorData>, names: readonly string[]): V2OutputTensor[] {
  return names.map((name) => ({
    name,
    shape: [...results[name].dims],
    datatype: "FP32",
    data: Array.from(results[name].data),
  }));
}
