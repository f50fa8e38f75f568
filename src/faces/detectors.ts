/**
 * The face detectors, one table entry each: the manifest it opens, the input side it was ported at, whether the
 * pipeline opens it at start or on first use, its one-line description (the API documents it), and the functions
 * that run it on one frame or a batch of frames. The detector name type, the request option's zod enum and the OpenAPI enum all come from here:
 * adding a detector is one entry plus its file.
 */
import type { RawImage } from "../image.ts";
import type { ModelSession } from "../session.ts";
import { runBlazeFace, runBlazeFaceBatch } from "./blazeface.ts";
import { runSsdBlazeFaceBatch } from "./combined.ts";
import type { Detection, DetectorBatchRun, DetectorRun } from "./face.ts";
import { runSsdMultiScale, runSsdMultiScaleBatch } from "./multiscale.ts";
import { runSsd, runSsdBatch } from "./ssd.ts";
import { runTiny, runTinyBatch } from "./tiny.ts";

/** One net a detector runs: its manifest file inside the model folder and the square input side of the port. */
export interface DetectorNet {
  file: string;
  /** A manifest with another input size is refused (a port built for another size). */
  inputSize: number;
}

/** One detector: the nets it opens and how it runs them. */
export interface DetectorEntry {
  /** The nets, in the order `run` receives their sessions (a combination runs several). */
  nets: readonly DetectorNet[];
  /** Opened with the pipeline (`true`) or on first use (`false`: optional artifact). */
  eager: boolean;
  /** What it is good at, for the API documentation. */
  description: string;
  /** Finds faces scoring above `minConfidence`, best first, boxes in original pixels (not clipped). */
  run: (sessions: readonly ModelSession[], image: RawImage, minConfidence: number) => Promise<Detection[]>;
  /** `run` on several frames with one net run per batch (the frames of one video request), same answers. */
  runBatch: (
    sessions: readonly ModelSession[],
    images: readonly RawImage[],
    minConfidence: number,
  ) => Promise<Detection[][]>;
}

/** The nets, by file and input side. */
const SSD: DetectorNet = { file: "face-detector-ssd.manifest.json", inputSize: 512 };
const TINY: DetectorNet = { file: "face-detector-tiny.manifest.json", inputSize: 416 };
const BLAZEFACE: DetectorNet = { file: "face-detector-blazeface.manifest.json", inputSize: 128 };

/** The entry fields of a detector that runs one net. */
function single(run: DetectorRun, runBatch: DetectorBatchRun): Pick<DetectorEntry, "run" | "runBatch"> {
  return { run: ([s], image, m) => run(s, image, m), runBatch: ([s], images, m) => runBatch(s, images, m) };
}

/** Every face detector by name; the first one is the default. */
export const DETECTORS = {
  "ssd-blazeface": {
    nets: [SSD, BLAZEFACE],
    eager: true,
    description:
      "`ssd` plus BlazeFace for faces larger than a quarter of the frame, merged: small, distant and frame-filling faces (selfies, webcam frames, crops) in one pass",
    run: async (sessions, image, m) => (await runSsdBlazeFaceBatch(sessions, [image], m))[0],
    runBatch: runSsdBlazeFaceBatch,
  },
  "ssd-multiscale": {
    // The same net as `ssd` (one session serves both): only the passes differ.
    nets: [SSD],
    eager: true,
    description:
      "`ssd`, plus a padded multi-scale pass when it finds nothing: also finds faces that fill the frame (selfies, crops)",
    ...single(runSsdMultiScale, runSsdMultiScaleBatch),
  },
  ssd: {
    nets: [SSD],
    eager: true,
    description: "face-api's SSD as is: accurate, misses faces larger than about a third of the frame",
    ...single(runSsd, runSsdBatch),
  },
  tiny: {
    nets: [TINY],
    eager: false,
    description: "about 3x faster on CPU, misses small faces",
    ...single(runTiny, runTinyBatch),
  },
  blazeface: {
    nets: [BLAZEFACE],
    eager: true,
    description:
      "MediaPipe BlazeFace (short range): close-up faces (selfies, webcam frames), misses small faces",
    ...single(runBlazeFace, runBlazeFaceBatch),
  },
} as const satisfies Record<string, DetectorEntry>;

/** A detector name (`DETECTORS` key). */
export type DetectorName = keyof typeof DETECTORS;

/** Every detector name, the default first (the zod and OpenAPI enum). */
export const DETECTOR_NAMES = Object.keys(DETECTORS) as [DetectorName, ...DetectorName[]];

/** The detector used when a request names none. */
export const DEFAULT_DETECTOR: DetectorName = DETECTOR_NAMES[0];

/** Refuses a detector manifest whose input is not its net's square side (a port built for another size). */
export function checkDetectorInput(net: DetectorNet, session: ModelSession): void {
  const { width, height } = session.manifest.input.size;
  const side = net.inputSize;
  if (width !== side || height !== side) {
    throw new Error(
      `Cannot open face detector ${net.file}: input is ${width}x${height}, expected ${side}x${side}`,
    );
  }
}
