/**
 * A synthetic, seeded "shapes" dataset for tests, benchmarks and smoke runs: 224x224 RGB images of one drawn
 * shape per class (7 classes, matching the model's seven outputs), large and near the centre with a random
 * offset and size, in a class-coded hue over a paler background of the same hue. It is NOT facial-expression data; a model trained on it must be labelled as such
 * (`trained: false`, source "synthetic-shapes"). Images are rendered on demand from (seed, index), so a dataset
 * of any size costs no memory and is identical on every machine.
 */
import type { RawPixels } from "../model/preprocess.ts";
import { createRng } from "./data/rng.ts";

/** Class names of the synthetic dataset, in label order. */
export const SHAPE_CLASSES = ["disk", "square", "triangle", "hbar", "vbar", "cross", "ring"] as const;

/** The data interface `fit` trains on: labels up front, pixels loaded per batch. */
export interface TrainData {
  /** Human-readable source, written into checkpoints and manifests. */
  name: string;
  /** True for generated data: models trained on it are never "trained" expression models. */
  synthetic: boolean;
  /** Class index of every sample. */
  labels: Int32Array;
  /** Loads samples as 224x224 RGB (3 channels, interleaved) uint8 images. */
  load(indices: ArrayLike<number>): Promise<RawPixels[]>;
}

function inside(kind: number, dx: number, dy: number, r: number): boolean {
  const ax = Math.abs(dx), ay = Math.abs(dy);
  switch (kind) {
    case 0:
      return dx * dx + dy * dy <= r * r;
    case 1:
      return ax <= r * 0.8 && ay <= r * 0.8;
    case 2: // upward triangle: apex at -r, base at +r
      return dy <= r && dy >= -r && ax <= (dy + r) / 2;
    case 3:
      return ax <= r && ay <= r * 0.28;
    case 4:
      return ay <= r && ax <= r * 0.28;
    case 5:
      return (ax <= r && ay <= r * 0.2) || (ay <= r && ax <= r * 0.2);
    default: {
      const d = dx * dx + dy * dy;
      return d <= r * r && d >= (r * 0.6) * (r * 0.6);
    }
  }
}

function hsvToRgb(h: number, s: number, v: number): number[] {
  const i = Math.floor(h * 6), f = h * 6 - i;
  const p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  const rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6];
  return rgb.map((c) => Math.round(c * 255));
}

/** Renders sample `index` of the dataset with `seed`: returns its image and class. */
export function renderShape(seed: number, index: number, { size = 224, classes = 7 } = {}): {
  image: RawPixels;
  label: number;
} {
  const rng = createRng((seed * 1_000_003 + index) >>> 0);
  const label = index % classes;
  const data = new Uint8Array(size * size * 3);
  // The class is coded twice: by the shape and by the hue of the whole image (7 hues 51 degrees apart, +-5
  // degrees of noise; pale background, saturated shape, random brightness). A tiny net from scratch then learns
  // the task in a CPU-minute: the set checks that the training pipeline learns, not how well a model sees shapes.
  const hue = (label / classes + (rng.next() - 0.5) * (10 / 360) + 1) % 1;
  const dark = rng.next() < 0.5;
  const bg = hsvToRgb(hue, 0.3 + 0.2 * rng.next(), dark ? 0.25 + 0.2 * rng.next() : 0.75 + 0.2 * rng.next());
  const fg = hsvToRgb(hue, 0.8 + 0.2 * rng.next(), dark ? 0.8 + 0.2 * rng.next() : 0.3 + 0.2 * rng.next());
  // Large shapes near the centre (like aligned faces): every CCI quadrant sees part of the shape.
  const r = size * (0.28 + 0.12 * rng.next());
  const cx = size / 2 + size * 0.1 * (2 * rng.next() - 1), cy = size / 2 + size * 0.1 * (2 * rng.next() - 1);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const c = inside(label % SHAPE_CLASSES.length, x - cx, y - cy, r) ? fg : bg;
      const o = (y * size + x) * 3;
      data[o] = c[0];
      data[o + 1] = c[1];
      data[o + 2] = c[2];
    }
  }
  return { image: { data, width: size, height: size, channels: 3 }, label };
}

/**
 * A synthetic dataset of `count` samples (balanced: label = index mod classes) generated from `seed`. Use a
 * different seed for a held-out split.
 */
export function syntheticShapes(
  { count = 280, seed = 0, classes = 7, size = 224 }: {
    count?: number;
    seed?: number;
    classes?: number;
    size?: number;
  } = {},
): TrainData {
  const labels = Int32Array.from({ length: count }, (_, i) => i % classes);
  return {
    name: `synthetic-shapes(seed=${seed},n=${count})`,
    synthetic: true,
    labels,
    load: (indices) =>
      Promise.resolve(Array.from(indices, (i) => renderShape(seed, i, { size, classes }).image)),
  };
}
