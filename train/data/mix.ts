/**
 * Combines dataset splits into one training list with per-class caps, as in the paper's Table 3 (at most 15k,
 * 20k, 50k, 100k or all Aff-Wild2 frames per class, optionally plus AffectNet and ExpW). Classes over the cap
 * are undersampled with a seeded RNG, so the same seed and inputs always give the same list.
 */
import { createRng, type Rng, shuffleInPlace } from "./rng.ts";
import type { Sample } from "./sample.ts";

/** One dataset split to mix, with its optional per-class cap (null or undefined = keep all). */
export interface MixPart {
  name: string;
  samples: Sample[];
  maxPerClass?: number | null;
}

/** Per-part class counts before and after capping (for logs and the model card). */
export interface MixReport {
  name: string;
  before: number[];
  after: number[];
}

/** Counts samples per class index; `numClasses` fixes the length so absent classes show as 0. */
export function classCounts(samples: readonly { label: number }[], numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const s of samples) {
    if (!(s.label >= 0 && s.label < numClasses)) {
      throw new Error(`Cannot count classes: label is ${s.label}, expected 0..${numClasses - 1}`);
    }
    counts[s.label]++;
  }
  return counts;
}

/**
 * Keeps at most `maxPerClass` samples of each class, chosen uniformly at random with `rng`; the kept samples
 * stay in their original order so that downstream reading stays sequential on disk.
 */
export function capPerClass(samples: Sample[], maxPerClass: number | null | undefined, rng: Rng): Sample[] {
  if (maxPerClass == null) return samples.slice();
  if (!(Number.isInteger(maxPerClass) && maxPerClass > 0)) {
    throw new Error(`Cannot cap classes: maxPerClass is ${maxPerClass}, expected a positive integer`);
  }
  const byClass = new Map<number, number[]>();
  samples.forEach((s, i) => {
    const list = byClass.get(s.label);
    if (list) list.push(i);
    else byClass.set(s.label, [i]);
  });
  const keep: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(label)!;
    if (idx.length <= maxPerClass) keep.push(...idx);
    else keep.push(...shuffleInPlace(idx, rng).slice(0, maxPerClass));
  }
  keep.sort((a, b) => a - b);
  return keep.map((i) => samples[i]);
}

/**
 * Caps each part per class and concatenates them in the given order. Each part draws from its own RNG stream
 * (seed + part index), so adding a dataset at the end does not change which samples earlier parts keep.
 */
export function mixDatasets(
  parts: MixPart[],
  { seed = 0, numClasses = 7 }: { seed?: number; numClasses?: number } = {},
): { samples: Sample[]; report: MixReport[] } {
  const samples: Sample[] = [];
  const report: MixReport[] = [];
  parts.forEach((part, i) => {
    const kept = capPerClass(part.samples, part.maxPerClass, createRng(seed + 7919 * (i + 1)));
    report.push({
      name: part.name,
      before: classCounts(part.samples, numClasses),
      after: classCounts(kept, numClasses),
    });
    for (const s of kept) samples.push(s);
  });
  return { samples, report };
}
