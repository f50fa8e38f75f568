/**
 * The work of `deno task bench:accuracy`: reads a labelled image set (a `labels.csv` of `path,label`, else one
 * folder per class) and runs every image through the API's own in-process path — the registry's models and
 * face detector, `analyzeImages` (decode, detect or not, crop/align, micro-batched classify, canonical scores) —
 * for each model in turn, then scores it with train/metrics.ts (accuracy, macro-F1, ABAW 2020, per class,
 * confusion) and train/calibration.ts (ECE, 15 bins). Kept apart from the command line so a test can compare
 * its predictions with `train eval`'s.
 */
import { join } from "node:path";
import { analyzeImages, type AnalyzeOptions } from "../../src/classify.ts";
import { DEFAULT_DETECTOR, type DetectorName } from "../../src/faces/detectors.ts";
import type { Registry } from "../../src/registry.ts";
import { CANONICAL_LABELS, canonicalIndex } from "../../model/spec.ts";
import { computeMetrics, type EvalMetrics } from "../../train/metrics.ts";
import { type Calibration, calibrationError } from "../../train/calibration.ts";
import { readFolder } from "../../train/data/folder.ts";

/** One labelled image: its file and its canonical class index. */
export interface LabelledImage {
  path: string;
  label: number;
}

/**
 * The images of `dir`: `dir/labels.csv` (`path,label`, paths relative to `dir`, a header line allowed, labels
 * as canonical names or synonyms) when it exists, else the folder-per-class reader of the trainer.
 */
export async function readLabelledSet(dir: string): Promise<LabelledImage[]> {
  let csv: string | undefined;
  try {
    csv = await Deno.readTextFile(join(dir, "labels.csv"));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (csv === undefined) {
    const { samples } = await readFolder(dir);
    return samples.map((s) => ({ path: s.path, label: s.label }));
  }
  const out: LabelledImage[] = [];
  for (const [n, line] of csv.split(/\r?\n/).entries()) {
    if (!line.trim()) continue;
    const comma = line.lastIndexOf(",");
    const path = line.slice(0, comma).trim(), name = line.slice(comma + 1).trim();
    const label = canonicalIndex(name);
    if (label < 0) {
      if (n === 0) continue; // header
      throw new Error(`Cannot read "${join(dir, "labels.csv")}": line ${n + 1} has label "${name}"`);
    }
    out.push({ path: join(dir, path), label });
  }
  if (!out.length) throw new Error(`Cannot read "${join(dir, "labels.csv")}": it lists no images`);
  return out;
}

/** How to run the set through the pipeline; every field has a default. */
export interface AccuracyOptions {
  /** Detect faces (the top-scoring face is classified) or classify each image whole. Default false. */
  detect?: boolean;
  detector?: DetectorName;
  minConfidence?: number;
  /** Images in flight at once (the registry's micro-batcher groups their faces). Default 16. */
  concurrency?: number;
  onImage?: () => void;
}

/** One model's result on the set. */
export interface ModelAccuracy {
  model: { id: string; version: string; trained: boolean };
  detect: boolean;
  detector?: DetectorName;
  images: number;
  /** Images in which the detector found a face (all of them with detect=false). */
  facesFound: number;
  facesFoundRate: number;
  /** Correct over ALL images: an image without a found face counts as wrong. */
  accuracyAllImages: number;
  /** Metrics over the images with a found face. */
  metrics: EvalMetrics;
  calibration: Calibration;
  imagesPerSecond: number;
  /** Canonical class index per image, -1 where no face was found. */
  predictions: number[];
  /** Canonical scores of each image's top face (empty where no face was found). */
  scores: number[][];
}

/** Runs `images` through `analyzeImages` with `modelId` of `registry`, exactly as a request would. */
export async function measureModel(
  registry: Registry,
  modelId: string,
  images: readonly LabelledImage[],
  {
    detect = false,
    detector = DEFAULT_DETECTOR,
    minConfidence = 0.5,
    concurrency = 16,
    onImage,
  }: AccuracyOptions = {},
): Promise<ModelAccuracy> {
  const model = registry.resolve(modelId);
  const options: AnalyzeOptions = {
    detect,
    maxFaces: 20,
    minFaceSize: 0,
    minConfidence,
    landmarks: false,
    attention: false,
    ...(detect ? { detector } : {}),
  };
  const predictions = new Array<number>(images.length).fill(-1);
  const confidence = new Array<number>(images.length).fill(0);
  const scores: number[][] = images.map(() => []);
  let next = 0;
  const t0 = performance.now();
  async function worker() {
    while (next < images.length) {
      const i = next++;
      const bytes = await Deno.readFile(images[i].path);
      const result = await analyzeImages([bytes], options, {
        model,
        faces: registry.faces,
        maxPixels: 40_000_000,
        deadline: Infinity,
        tag: `bench-${i}`,
        maxBatch: 32,
        imageSlots: registry.imageSlots,
      });
      const face = result.images[0].faces[0]; // detection order is by score: the top face
      if (face) {
        let best = 0;
        for (let c = 1; c < face.scores.length; c++) if (face.scores[c] > face.scores[best]) best = c;
        predictions[i] = best;
        confidence[i] = face.scores[best];
        scores[i] = face.scores;
      }
      onImage?.();
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const found = images.map((_, i) => i).filter((i) => predictions[i] >= 0);
  if (!found.length) {
    throw new Error(`Cannot score model "${modelId}": no face was found in any of ${images.length} images`);
  }
  const truth = found.map((i) => images[i].label), predicted = found.map((i) => predictions[i]);
  const correct = found.map((i) => predictions[i] === images[i].label);
  return {
    model: { id: model.id, version: model.version, trained: model.manifest.trained },
    detect,
    ...(detect ? { detector } : {}),
    images: images.length,
    facesFound: found.length,
    facesFoundRate: found.length / images.length,
    accuracyAllImages: correct.filter(Boolean).length / images.length,
    metrics: computeMetrics(truth, predicted, { labels: CANONICAL_LABELS }),
    calibration: calibrationError(found.map((i) => confidence[i]), correct),
    imagesPerSecond: images.length / seconds,
    predictions,
    scores,
  };
}
