/**
 * The held-out split `fit` validates on when the recipe names no validation dataset (`valFraction`): a seeded,
 * stratified fraction of the training samples, so every class keeps its share in both parts and the same seed
 * always holds out the same samples (a resumed run trains on exactly the samples it started with).
 */
import { createRng, shuffleInPlace } from "./rng.ts";

/** Sample indices of the two parts, each in ascending order. */
export interface Split {
  train: Int32Array;
  val: Int32Array;
}

/**
 * Holds out `round(fraction * n_c)` samples of every class c (at least one of a class with two or more samples,
 * never all of one), chosen by a seeded shuffle within the class. Throws for a fraction outside (0, 1).
 */
export function stratifiedSplit(labels: ArrayLike<number>, fraction: number, seed = 0): Split {
  if (!(fraction > 0 && fraction < 1)) {
    throw new Error(`Cannot split training data: valFraction is ${fraction}, expected between 0 and 1`);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]);
    if (list) list.push(i);
    else byClass.set(labels[i], [i]);
  }
  // One stream per class, seeded from (seed, class): adding a class does not change the others' draws.
  const val: number[] = [];
  for (const [c, members] of byClass) {
    const k = members.length < 2
      ? 0
      : Math.min(members.length - 1, Math.max(1, Math.round(fraction * members.length)));
    const rng = createRng(((seed * 0x9e3779b1) ^ (c + 1) * 0x85ebca6b) >>> 0);
    val.push(...shuffleInPlace([...members], rng).slice(0, k));
  }
  const held = new Uint8Array(labels.length);
  for (const i of val) held[i] = 1;
  const train: number[] = [];
  for (let i = 0; i < labels.length; i++) if (!held[i]) train.push(i);
  return { train: Int32Array.from(train), val: Int32Array.from(val.sort((a, b) => a - b)) };
}
