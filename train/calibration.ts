/**
 * Expected calibration error (Guo et al. 2017): predictions are binned by their confidence (the top class's
 * probability) into equal-width bins over [0, 1]; ECE is the sample-weighted mean over bins of
 * |accuracy(bin) - mean confidence(bin)|. 0 means a model that says "0.8" is right 80% of the time.
 */

/** One confidence bin: its range, how many predictions fell in it, their accuracy and mean confidence. */
export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  accuracy: number;
  confidence: number;
}

/** ECE and its bins (empty bins included, with zeros). */
export interface Calibration {
  ece: number;
  bins: CalibrationBin[];
}

/**
 * ECE of predictions with confidence `confidence[i]` in [0, 1] that were right when `correct[i]`. A confidence
 * of exactly 1 goes into the last bin, 0 into the first. Throws on a length mismatch or no predictions.
 */
export function calibrationError(
  confidence: ArrayLike<number>,
  correct: ArrayLike<boolean>,
  { bins = 15 }: { bins?: number } = {},
): Calibration {
  if (confidence.length !== correct.length) {
    throw new Error(
      `Cannot compute calibration: ${confidence.length} confidences but ${correct.length} outcomes`,
    );
  }
  const n = confidence.length;
  if (n === 0) throw new Error("Cannot compute calibration: no predictions");
  const count = new Array<number>(bins).fill(0);
  const right = new Array<number>(bins).fill(0);
  const sum = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const c = Math.min(1, Math.max(0, confidence[i]));
    const b = Math.min(bins - 1, Math.floor(c * bins));
    count[b]++;
    sum[b] += c;
    if (correct[i]) right[b]++;
  }
  let ece = 0;
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const accuracy = count[b] ? right[b] / count[b] : 0;
    const mean = count[b] ? sum[b] / count[b] : 0;
    ece += (count[b] / n) * Math.abs(accuracy - mean);
    out.push({ lower: b / bins, upper: (b + 1) / bins, count: count[b], accuracy, confidence: mean });
  }
  return { ece, bins: out };
}

/** Probabilities sharpened (T < 1) or softened (T > 1) by temperature `t`: softmax(log(p) / t). */
export function withTemperature(probabilities: ArrayLike<number>, t: number): number[] {
  const logits = Array.from(probabilities, (p) => Math.log(Math.max(p, 1e-12)) / t);
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/**
 * The temperature (0.05..20, log-spaced grid refined twice) that minimises the mean negative log-likelihood of
 * the true classes: temperature scaling (Guo et al. 2017) for a model that outputs probabilities. It changes
 * confidences, never the argmax. Throws on a length mismatch or no samples.
 */
export function fitTemperature(
  probabilities: readonly ArrayLike<number>[],
  truth: ArrayLike<number>,
): number {
  if (probabilities.length !== truth.length || truth.length === 0) {
    throw new Error(
      `Cannot fit a temperature: ${probabilities.length} predictions for ${truth.length} labels`,
    );
  }
  const nll = (t: number) => {
    let s = 0;
    for (let i = 0; i < truth.length; i++) {
      s -= Math.log(Math.max(withTemperature(probabilities[i], t)[truth[i]], 1e-12));
    }
    return s / truth.length;
  };
  let lo = Math.log(0.05), hi = Math.log(20), best = 0;
  for (let round = 0; round < 3; round++) {
    let bestNll = Infinity;
    for (let k = 0; k <= 20; k++) {
      const x = lo + ((hi - lo) * k) / 20, v = nll(Math.exp(x));
      if (v < bestNll) bestNll = v, best = x;
    }
    const step = (hi - lo) / 20;
    lo = best - step, hi = best + step;
  }
  return Math.exp(best);
}
