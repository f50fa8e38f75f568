/**
 * Where a safetensors weights file came from, and whether its weights are a trained expression model. Our own
 * writers (training checkpoints, test tools, random-init dumps) put `{ "trained": "true"|"false", "source": ... }`
 * in the file's `__metadata__`; `model:build --weights` and `train export --weights` both open the file through
 * {@link readWeightsFile}, so the two commands always give the same manifest `trained` flag and provenance for
 * the same file.
 */
import { basename } from "node:path";
import { sha256Hex } from "../manifest.ts";
import type { TensorData } from "../scan_cci/params.ts";
import { readSafetensors, readSafetensorsMetadata } from "./safetensors.ts";

/** Provenance as written into a safetensors `__metadata__` (string values, as the format requires). */
export interface WeightsProvenance {
  /** True only for weights from a training run on real expression data. */
  trained: boolean;
  /** Free text: what produced the weights (e.g. "random-init seed 3", "tfjs training on affwild2, 20 epochs"). */
  source: string;
}

/**
 * The `__metadata__` entries for weights we write: `trained` as "true"/"false" and `source`. Merge them with any
 * other metadata the writer keeps (format, width, ...).
 */
export function provenanceMetadata({ trained, source }: WeightsProvenance): Record<string, string> {
  return { trained: trained ? "true" : "false", source };
}

/** What {@link weightsTrained} decided and why (for provenance text and logs). */
export interface TrainedDecision {
  trained: boolean;
  /** "option" (--trained/--untrained), "metadata" (the file's `trained` entry) or "default" (no entry). */
  reason: "option" | "metadata" | "default";
  /** The file's `source` metadata, when present. */
  source?: string;
}

/**
 * Decides the manifest `trained` flag for a weights file. An explicit `override` (--trained / --untrained)
 * wins; else the file's `__metadata__.trained` ("true" or "false", written by our tools); else `true`: a file
 * without our metadata is taken to be weights from a training run (e.g. the authors' checkpoint converted with
 * the README's snippet), which the user marks otherwise with --untrained. Throws for any other `trained` value.
 */
export function weightsTrained(
  metadata: Record<string, string>,
  { override, file = "weights" }: { override?: boolean; file?: string } = {},
): TrainedDecision {
  const source = typeof metadata.source === "string" ? metadata.source : undefined;
  if (override !== undefined) return { trained: override, reason: "option", source };
  const value = metadata.trained;
  if (value === undefined) return { trained: true, reason: "default", source };
  if (value !== "true" && value !== "false") {
    throw new Error(
      `Cannot read provenance of "${file}": __metadata__.trained is ${JSON.stringify(value)}, ` +
        'expected "true" or "false"',
    );
  }
  return { trained: value === "true", reason: "metadata", source };
}

/** A weights file opened for a build: its tensors, the `trained` decision and the manifest's provenance. */
export interface WeightsFile {
  tensors: Map<string, TensorData>;
  trained: boolean;
  /** `safetensors:<file name>`, plus the file's own `source` metadata in parentheses when it has one. */
  source: string;
  weightsSha256: string;
}

/**
 * Reads a safetensors weights file's tensors and decides its provenance with {@link weightsTrained} (`override`
 * is --trained / --untrained). `file` names the file in the provenance text and in errors. Throws for malformed
 * safetensors or an odd `trained` entry.
 */
export async function readWeightsFile(
  bytes: Uint8Array,
  { file, override }: { file: string; override?: boolean },
): Promise<WeightsFile> {
  const tensors = new Map([...readSafetensors(bytes)].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  const decision = weightsTrained(readSafetensorsMetadata(bytes), { override, file });
  return {
    tensors,
    trained: decision.trained,
    source: `safetensors:${basename(file)}${decision.source ? ` (${decision.source})` : ""}`,
    weightsSha256: await sha256Hex(bytes),
  };
}
