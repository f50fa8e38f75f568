/**
 * The face detectors, one table entry each: the manifest it opens, the input side it was ported at, whether the
 * pipeline opens it at start or on first use, its one-line description (the API documents it), and the functions
 * that run it on one frame or a batch of frames. The detector name type, the request option's zod enum and the OpenAPI enum all come from here:
 * adding a detector is one entry plus its file.
 */
import type { ModelSession } from "../session.ts";
import type { DetectorBatchRun, DetectorRun } from "./face.ts";
import { runSsdMultiScale, runSsdMultiScaleBatch } from "./multiscale.ts";
import { runSsd, runSsdBatch } from "./ssd.ts";
import { runTiny, runTinyBatch } from "./tiny.ts";

/** One detector: how to open and run it. */
export interface DetectorEntry {
  /** Manifest file name inside the model folder. */
  file: string;
  /** Square input side (pixels) of the port; a manifest with another size is refused. */
  inputSize: number;
  /** Opened with the pipeline (`true`) or on first use (`false`: optional artifact). */
  eager: boolean;
  /** What it is good at, for the API documentation. */
  description: string;
  /** Finds faces scoring above `minConfidence`, best first, boxes in original pixels (not clipped). */
  run: DetectorRun;
  /** `run` on several frames with one net run per batch (the frames of one video request), same answers. */
  runBatch: DetectorBatchRun;
}

/** Every face detector by name; the first one is the default. */
export const DETECTORS = {
  "ssd-multiscale": {
    // The same net as `ssd` (one session serves both): only the passes differ.
    file: "face-detector-ssd.manifest.json",
    inputSize: 512,
    eager: true,
    description:
      "`ssd`, plus a padded multi-scale pass when it finds nothing: also finds faces that fill the frame (selfies, crops)",
    run: runSsdMultiScale,
    runBatch: runSsdMultiScaleBatch,
  },
  ssd: {
    file: "face-detector-ssd.manifest.json",
    inputSize: 512,
    eager: true,
    description: "face-api's SSD as is: accurate, misses faces larger than about a third of the frame",
    run: runSsd,
    runBatch: runSsdBatch,
  },
  tiny: {
    file: "face-detector-tiny.manifest.json",
    inputSize: 416,
    eager: false,
    description: "about 3x faster on CPU, misses small faces",
    run: runTiny,
    runBatch: runTinyBatch,
  },
} as const satisfies Record<string, DetectorEntry>;

/** A detector name (`DETECTORS` key). */
export type DetectorName = keyof typeof DETECTORS;

/** Every detector name, the default first (the zod and OpenAPI enum). */
export const DETECTOR_NAMES = Object.keys(DETECTORS) as [DetectorName, ...DetectorName[]];

/** The detector used when a request names none. */
export const DEFAULT_DETECTOR: DetectorName = DETECTOR_NAMES[0];

/** Refuses a detector manifest whose input is not the entry's square side (a port built for another size). */
export function checkDetectorInput(name: DetectorName, session: ModelSession): void {
  const { width, height } = session.manifest.input.size;
  const side = DETECTORS[name].inputSize;
  if (width !== side || height !== side) {
    throw new Error(
      `Cannot open face detector "${name}": input is ${width}x${height}, expected ${side}x${side}`,
    );
  }
}
