/**
 * Trained tfjs weights -> `scan-cci.onnx` + manifest, through the model builder (model/scan_cci/build.ts), so
 * the served graph is the one and only SCAN+CCI graph. The manifest says `trained: true` only for a checkpoint
 * of a real training run on real (non-synthetic) data; synthetic smoke runs say `trained: false` and name their
 * source. A weights file is opened like model:build opens it (model/weights/provenance.ts's `readWeightsFile`:
 * its `__metadata__`, else trained; --trained/--untrained override).
 *
 *   deno task train export --checkpoint artifacts/checkpoints/epoch-0020 --out artifacts/models [--fp16]
 *   deno task train export --weights FILE.safetensors --out DIR [--labels affwild2] [--trained|--untrained]
 */
import { parseArgs } from "node:util";
import { EXPORT_OPTIONS } from "./cli_options.ts";
import { writeArtifact } from "../model/artifact.ts";
import { type Manifest, type Metrics, sha256Hex } from "../model/manifest.ts";
import { buildScanCci } from "../model/scan_cci/build.ts";
import type { TensorData } from "../model/scan_cci/params.ts";
import { readWeightsFile } from "../model/weights/provenance.ts";
import { writeSafetensors } from "../model/weights/safetensors.ts";
import { CANONICAL_LABELS, LABEL_ORDERS } from "../model/spec.ts";
import { loadCheckpoint } from "./checkpoint.ts";

/** Options of {@link exportModel}: exactly one of `checkpoint` (folder) or `weights` (file or tensors). */
export interface ExportOptions {
  checkpoint?: string;
  weights?: string | Map<string, TensorData>;
  /** Output folder for `<id>.onnx` and `<id>.manifest.json`. */
  out: string;
  /** Output class names in model order, or a label-order name ("affectnet"); default: the checkpoint's labels,
   * else the canonical seven. */
  labels?: keyof typeof LABEL_ORDERS | readonly string[];
  fp16?: boolean;
  id?: string;
  metrics?: Metrics[];
  /** Only for `weights`: true/false overrides the file's provenance metadata (model/weights/provenance.ts);
   * unset, a file says itself (no metadata: trained) and in-memory tensors are untrained. */
  trained?: boolean;
  /** Only for `weights`: provenance text. */
  source?: string;
}

/** What was written. */
export interface ExportResult {
  onnxPath: string;
  manifestPath: string;
  manifest: Manifest;
}

function toRecord(map: Map<string, TensorData>): Record<string, TensorData> {
  return Object.fromEntries(map);
}

/**
 * Builds and writes the ONNX model + manifest from a training checkpoint or a weights file. Throws
 * `Cannot export model: …` for missing/ambiguous inputs; weight problems come from the builder's checker.
 */
export async function exportModel(
  { checkpoint, weights, out, labels, fp16 = false, id = "scan-cci", metrics = [], trained, source }:
    ExportOptions,
): Promise<ExportResult> {
  if ((checkpoint ? 1 : 0) + (weights ? 1 : 0) !== 1) {
    throw new Error("Cannot export model: give exactly one of checkpoint (folder) or weights (file)");
  }
  let tensors: Map<string, TensorData>;
  let isTrained: boolean;
  let src: string;
  let seed: number | undefined;
  let names: keyof typeof LABEL_ORDERS | readonly string[] = labels ?? CANONICAL_LABELS;
  let sha: string | undefined;
  if (checkpoint) {
    const c = await loadCheckpoint(checkpoint);
    tensors = c.weights;
    const s = c.state;
    const epochs = s.history.length;
    // Provenance is decided by the checkpoint, never by the caller: synthetic data is not expression training.
    isTrained = !s.data.synthetic && epochs > 0;
    src = s.data.synthetic
      ? `synthetic test run (${s.data.name}; NOT facial-expression data), ${epochs} epoch(s), tfjs ${s.backend}`
      : `tfjs training on ${s.data.name}, ${epochs} epoch(s), ${s.globalStep} steps, backend ${s.backend}`;
    seed = s.seed;
    names = labels ?? s.labels;
    sha = await sha256Hex(await Deno.readFile(`${checkpoint}/weights.safetensors`));
  } else if (typeof weights === "string") {
    const file = await readWeightsFile(await Deno.readFile(weights), { file: weights, override: trained });
    tensors = file.tensors;
    isTrained = file.trained;
    src = source ?? file.source;
    sha = file.weightsSha256;
  } else {
    tensors = weights!;
    isTrained = trained ?? false;
    src = source ?? "in-memory tfjs weights";
    sha = await sha256Hex(writeSafetensors(toRecord(tensors)));
  }
  const built = await buildScanCci({
    tensors,
    labels: names,
    fp16,
    id,
    source: src,
    trained: isTrained,
    weightsSha256: sha,
    seed,
    metrics,
  });
  const paths = await writeArtifact(out, built);
  return { ...paths, manifest: built.manifest };
}

/** CLI entry used by `deno task train export`. */
export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: EXPORT_OPTIONS,
    strict: true,
  });
  if (!values.out) throw new Error("Cannot export model: --out DIR is required");
  if (values.trained && values.untrained) {
    throw new Error("Cannot export model: give --trained or --untrained");
  }
  const metrics: Metrics[] = [];
  for (const f of values.metrics ?? []) metrics.push(JSON.parse(await Deno.readTextFile(f)));
  const r = await exportModel({
    checkpoint: values.checkpoint,
    weights: values.weights,
    out: values.out,
    labels: values.labels && values.labels in LABEL_ORDERS
      ? values.labels as keyof typeof LABEL_ORDERS
      : values.labels?.split(","),
    fp16: values.fp16,
    id: values.id,
    metrics,
    trained: values.trained ? true : values.untrained ? false : undefined,
    source: values.source,
  });
  console.log(
    JSON.stringify({ onnx: r.onnxPath, manifest: r.manifestPath, trained: r.manifest.trained }, null, 2),
  );
}
