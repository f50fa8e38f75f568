/**
 * The work of `deno task model:calibrate`: fits a temperature for one expression model on a labelled image set
 * through the API's own in-process path (the registry with calibration off, `analyzeImages` via
 * `measureModel`, exactly what `bench:accuracy` runs), with train/calibration.ts's `fitTemperature`, and writes
 * it into the model's manifest as `calibration`. It lives beside `bench:accuracy` because it needs both the
 * engine and the trainer's calibration code, which no single layer may import. Only the manifest is rewritten:
 * its sha256 covers the ONNX file, which is untouched, so the server's integrity check stays valid.
 */
import { dirname } from "node:path";
import { createFaceDetector } from "../../src/faces/pipeline.ts";
import { DEFAULT_DETECTOR, type DetectorName } from "../../src/faces/detectors.ts";
import { loadRegistry } from "../../src/registry.ts";
import { readManifest } from "../../src/session.ts";
import type { ModelCalibration } from "../../model/manifest.ts";
import { calibrationError, fitTemperature, withTemperature } from "../../train/calibration.ts";
import { measureModel, readLabelledSet } from "./accuracy_run.ts";

/** What to fit on; every field but `manifestPath` and `data` has a default. */
export interface CalibrateOptions {
  /** The model's `<id>.manifest.json`; its folder must hold the face models too, as a served MODEL_DIR does. */
  manifestPath: string;
  /** A labelled set (`labels.csv` or folder per class), e.g. a held-out part of a training split. */
  data: string;
  /** Use every N-th image of `data` (default 1: all). */
  every?: number;
  /** Detect faces first (default false: each image is a face crop). */
  detect?: boolean;
  detector?: DetectorName;
  /** The set in words for the manifest (default: the path and `every`). */
  fittedOn?: string;
}

/** Fits the temperature, rewrites the manifest with it, and returns the calibration written. */
export async function calibrateModel(
  { manifestPath, data, every = 1, detect = false, detector = DEFAULT_DETECTOR, fittedOn }: CalibrateOptions,
): Promise<ModelCalibration> {
  const manifest = await readManifest(manifestPath);
  if (manifest.task !== "expression") {
    throw new Error(`Cannot calibrate "${manifestPath}": task is ${manifest.task}, not expression`);
  }
  const step = Math.max(1, Math.floor(every));
  const images = (await readLabelledSet(data)).filter((_, i) => i % step === 0);
  const modelDir = dirname(manifestPath);
  // The face pipeline even for detect=false, as the server always has it: it prepares the crops (face-api's
  // pad-to-square), so without it the scores would be of a differently resized input than those served.
  const faces = await createFaceDetector({ modelDir });
  // Calibration off: the fit is on the model's own scores, not on those of a temperature already stored.
  const registry = await loadRegistry({
    modelDir,
    calibrated: false,
    createFaces: () => Promise.resolve(faces),
  });
  let measured;
  try {
    measured = await measureModel(registry, manifest.id, images, { detect, detector });
  } finally {
    await faces.pipeline.release();
    await registry.close();
  }
  const found = images.map((_, i) => i).filter((i) => measured.predictions[i] >= 0);
  const temperature = fitTemperature(found.map((i) => measured.scores[i]), found.map((i) => images[i].label));
  const eceAfter = calibrationError(
    // The temperature keeps the argmax, so the top scaled score is the predicted class's.
    found.map((i) => Math.max(...withTemperature(measured.scores[i], temperature))),
    found.map((i) => measured.predictions[i] === images[i].label),
  ).ece;
  const calibration: ModelCalibration = {
    temperature,
    method: "temperature",
    fittedOn: fittedOn ?? (step > 1 ? `${data}, every ${step}th image` : data),
    samples: found.length,
    eceBefore: measured.calibration.ece,
    eceAfter,
  };
  // Rewrite the file as read (not the parsed manifest, whose defaults would be added), via a rename.
  const json = JSON.parse(await Deno.readTextFile(manifestPath));
  json.calibration = calibration;
  const tmp = `${manifestPath}.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(tmp, JSON.stringify(json, null, 2) + "\n");
    await Deno.rename(tmp, manifestPath);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return calibration;
}
