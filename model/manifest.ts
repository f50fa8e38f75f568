/**
 * The `<name>.manifest.json` that travels with every ONNX file: what the model computes, which label order its
 * outputs use, how to preprocess its input, and where its weights came from. Written by `model/build.ts` and the
 * trainer's exporter, read and checked by the serving layer. One zod schema for both sides.
 */
import { z } from "zod";

export const InputSpec = z.object({
  name: z.string(),
  /** e.g. ["N", 3, 224, 224]; strings are symbolic dimensions. */
  shape: z.array(z.union([z.number().int(), z.string()])),
  dtype: z.enum(["float32", "float16", "uint8"]),
  layout: z.enum(["NCHW", "NHWC"]),
  channelOrder: z.enum(["RGB", "BGR", "GRAY"]),
  size: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  /** x = (u8 * scale - mean[c]) / std[c] */
  scale: z.number(),
  mean: z.array(z.number()),
  std: z.array(z.number()),
  /** How a crop is brought to `size`: stretched, or padded to a square first (face-api). */
  resize: z.enum(["fill", "pad-square"]).default("fill"),
});
export type InputSpec = z.infer<typeof InputSpec>;

export const OutputSpec = z.object({
  name: z.string(),
  shape: z.array(z.union([z.number().int(), z.string()])),
  dtype: z.enum(["float32", "float16", "int64", "int32"]),
  /**
   * What the output holds, so readers never guess from its name: class `logits` (softmax them), class
   * `probabilities` (use as they are), a spatial `attention` map, or `other` (detector and landmark tensors).
   * Optional only so that manifests written before this field still load.
   */
  kind: z.enum(["logits", "probabilities", "attention", "other"]).optional(),
  description: z.string().optional(),
});
export type OutputSpec = z.infer<typeof OutputSpec>;

export const ClassMetrics = z.object({
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: z.number().int(),
});

export const Metrics = z.object({
  dataset: z.string(),
  split: z.string(),
  samples: z.number().int(),
  accuracy: z.number(),
  f1_macro: z.number(),
  abaw2020: z.number(),
  per_class: z.record(z.string(), ClassMetrics).optional(),
});
export type Metrics = z.infer<typeof Metrics>;

/**
 * A temperature fitted for the model's scores (temperature scaling, Guo et al. 2017): the server reports
 * softmax(logits / T) for a logits output and p^(1/T), renormalised, for a probabilities output. It changes how
 * confident the scores are, never which label wins. The ECEs (15 bins) are on the `samples` images it was fitted
 * on, before and after. Written by `deno task model:calibrate`; the manifest's sha256 covers the ONNX file only,
 * so adding it leaves the integrity check valid.
 */
export const ModelCalibration = z.object({
  temperature: z.number().positive(),
  method: z.literal("temperature"),
  /** The labelled set it was fitted on, in words (e.g. "FER2013 train, every 10th image"). */
  fittedOn: z.string(),
  samples: z.number().int().positive(),
  eceBefore: z.number().nonnegative(),
  eceAfter: z.number().nonnegative(),
});
export type ModelCalibration = z.infer<typeof ModelCalibration>;

/**
 * How an INT8 artifact was made from its fp32 parent (`deno task model:quantize`): static QDQ with per-channel
 * symmetric int8 weights and per-tensor uint8 activations whose ranges came from `samples` calibration images
 * (the folder's name only, never its data), and the argmax agreement with the parent measured on other images
 * of that folder.
 */
export const Quantization = z.object({
  method: z.literal("qdq-static"),
  weights: z.literal("int8-per-channel-symmetric"),
  activations: z.literal("uint8-per-tensor"),
  /** How activation ranges were taken from the calibration runs, e.g. "minmax". */
  ranges: z.string(),
  /** The fp32 model this one was quantized from. */
  parent: z.object({ id: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  calibration: z.object({ set: z.string(), samples: z.number().int().positive(), seed: z.number().int() }),
  agreement: z.object({
    /** Held-out images of the calibration folder (none of the calibration samples). */
    samples: z.number().int().nonnegative(),
    /** Share of those images where INT8 and fp32 pick the same class. */
    argmax: z.number().min(0).max(1),
    /** Largest absolute difference of any score (softmax of logits, or probabilities). */
    maxScoreDiff: z.number().nonnegative(),
  }),
  /**
   * Mixed precision: the weighted nodes left float32, chosen greedily on a selection set (images of the
   * calibration folder disjoint from both the calibration and the agreement samples).
   */
  floatNodes: z.array(z.string()).optional(),
  selection: z.object({ samples: z.number().int().nonnegative(), argmax: z.number().min(0).max(1) })
    .optional(),
});
export type Quantization = z.infer<typeof Quantization>;

export const Manifest = z.object({
  schemaVersion: z.literal(1),
  /** Model id used by the API (`model` option, `/v1/models/{id}`). */
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
  task: z.enum(["expression", "face-detection", "face-landmarks"]),
  architecture: z.object({
    name: z.string(),
    /** The architecture table entry this graph was built from (e.g. "scan-cci", "faceapi-expression"). */
    family: z.string().optional(),
    version: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
  /** ONNX file name, relative to the manifest's folder. */
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().positive(),
  opset: z.number().int(),
  precision: z.enum(["fp32", "fp16", "int8"]),
  /** Label of each output class, in output order (canonical names, see model/spec.ts). Empty for non-classifiers. */
  labels: z.array(z.string()),
  /** Which native order `labels` came from, e.g. "affectnet". */
  labelOrder: z.string().optional(),
  input: InputSpec,
  outputs: z.array(OutputSpec),
  parameters: z.number().int().nonnegative(),
  gflops: z.number().nonnegative(),
  trained: z.boolean(),
  provenance: z.object({
    source: z.string(),
    weightsSha256: z.string().optional(),
    seed: z.number().int().optional(),
    tool: z.string(),
  }),
  metrics: z.array(Metrics).default([]),
  /** Absent: scores are served as the model computes them. */
  calibration: ModelCalibration.optional(),
  /** Present on INT8 artifacts only. */
  quantization: Quantization.optional(),
  license: z.string(),
  intendedUse: z.string(),
});
export type Manifest = z.infer<typeof Manifest>;

/** Parses and validates a manifest, naming the file in the error. */
export function parseManifest(json: unknown, source = "manifest"): Manifest {
  const r = Manifest.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`Cannot read manifest "${source}": ${issues}`);
  }
  return r.data;
}

/** Hex sha256 of bytes (manifests, provenance). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
