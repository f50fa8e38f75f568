/**
 * Temperature scaling of one model output row, as the registry serves it: softmax(logits / T) for logits, and
 * for probabilities p^(1/T) renormalised (the same thing, since p = softmax(logits)). T = 1 or no temperature
 * gives the model's own scores (softmax for logits, probabilities untouched). Dividing by a positive T keeps
 * the order of the scores, so the winning label never changes.
 */
import { softmax } from "./classify.ts";

/** The served scores of one output row: `logits` says what the row holds, `temperature` the manifest's T. */
export function servedScores(row: ArrayLike<number>, logits: boolean, temperature?: number): number[] {
  const t = temperature ?? 1;
  if (logits) return softmax(t === 1 ? row : Array.from(row, (v) => v / t));
  // Probabilities are left exactly as they are without a temperature (some models' rows do not sum to 1).
  if (t === 1) return Array.from(row);
  return softmax(Array.from(row, (p) => Math.log(Math.max(p, 1e-12)) / t));
}
