/**
 * Canonical expression scores as the API reports them: the best label, its confidence and every label's score
 * by name, and an analysed face as its result object. Both the photo and the video answers, and the detect CLI,
 * are built from these; numbers are rounded as src/precision.ts says (0.01 px, scores 1e-4).
 */
import { CANONICAL_LABELS, type ExpressionLabel } from "../model/spec.ts";
import type { Box } from "./box.ts";
import type { AnalyzedFace } from "./classify.ts";
import { argmax } from "./smoothing.ts";
import { roundPixels, roundScore } from "./precision.ts";

/** A facial expression estimate: the best canonical label and the score of every label. */
export interface Expression {
  label: ExpressionLabel;
  confidence: number;
  scores: Record<ExpressionLabel, number>;
}

/** One face of an answer: where it is, how sure the detector was, its expression and optional extras. */
export interface FaceResult {
  box: Box;
  /** `null` when detection was skipped (`detect=false`): the whole image was the face, no detector scored it. */
  detectionScore: number | null;
  landmarks?: { points68: [number, number][]; points5: [number, number][] };
  expression: Expression;
  attention?: string;
}

/** Canonical scores -> the `Expression` object (label, confidence, scores by name, rounded to 1e-4). */
export function toExpression(scores: readonly number[]): Expression {
  // The label is the best unrounded score: rounding may tie two scores, never change the winner.
  const best = argmax(scores);
  return {
    label: CANONICAL_LABELS[best],
    confidence: roundScore(scores[best]),
    scores: Object.fromEntries(CANONICAL_LABELS.map((l, i) => [l, roundScore(scores[i])])) as Record<
      ExpressionLabel,
      number
    >,
  };
}

const roundPoints = (ps: [number, number][]) =>
  ps.map(([x, y]): [number, number] => [roundPixels(x), roundPixels(y)]);

/** An analysed face -> its result object (landmarks and attention only when present), rounded for answers. */
export function toFaceResult(f: AnalyzedFace): FaceResult {
  const { x, y, width, height } = f.box;
  const out: FaceResult = {
    box: { x: roundPixels(x), y: roundPixels(y), width: roundPixels(width), height: roundPixels(height) },
    detectionScore: f.detectionScore === null ? null : roundScore(f.detectionScore),
    expression: toExpression(f.scores),
  };
  if (f.landmarks) {
    out.landmarks = {
      points68: roundPoints(f.landmarks.points68),
      points5: roundPoints(f.landmarks.points5),
    };
  }
  if (f.attention) out.attention = f.attention;
  return out;
}
