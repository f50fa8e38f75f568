/**
 * The precision of the numbers in answers (API responses and `deno task detect`): pixel positions and sizes to
 * 0.01 px, scores and probabilities to 1e-4. Sized for people and scripts: the models are not more accurate
 * than that, and 17 significant digits only make answers long and diffs noisy.
 */

/** Steps of the reported numbers. */
export const PRECISION = { pixels: 0.01, scores: 1e-4 } as const;

/** A pixel coordinate or size rounded to 0.01 px. */
export function roundPixels(v: number): number {
  return Math.round(v * 100) / 100;
}

/** A score or probability rounded to 1e-4. */
export function roundScore(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
