/**
 * Canonical expression scores as the API reports them: the best label, its confidence and every label's score
 * by name, and an analysed face as its result object. Both the photo and the video answers are built from these.
 */
import { CANONICAL_LABELS, type ExpressionLabel } from "../model/spec.ts";
import type { Box } from "./box.ts";
import type { AnalyzedFace } from "./classify.ts";
import { argmax } from "./smoothing.ts";

/** A facial expression estimate: the best canonical label and the score of every label. */
export interface Expression {
  label: ExpressionLabel;
  confidence: number;
  scores: Record<ExpressionLabel, number>;
}

/** One face of an answer: where it is, how sure the detector was, its expression and optional extras. */
export interface FaceResult {
  box: Box;
  detectionScore: number;
  landmarks?: { points68: [number, number][]; points5: [number, number][] };
  expression: Expression;
  attention?: string;
}

/** Canonical scores -> the `Expression` object (label, confidence, scores by name). */
export function toExpression(scores: readonly number[]): Expression {
  const best = argmax(scores);
  return {
    label: CANONICAL_LABELS[best],
    confidence: scores[best],
    scores: Object.fromEntries(CANONICAL_LABELS.map((l, i) => [l, scores[i]])) as Record<
      ExpressionLabel,
      number
    >,
  };
}

/** An analysed face -> its result object (landmarks and attention only when present). */
export function toFaceResult(f: AnalyzedFace): FaceResult {
  const out: FaceResult = {
    box: f.box,
    detectionScore: f.detectionScore,
    expression: toExpression(f.scores),
  };
  if (f.landmarks) out.landmarks = f.landmarks;
  if (f.attention) out.attention = f.attention;
  return out;
}
