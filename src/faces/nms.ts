/**
 * face-api's SSD post-processing in plain TypeScript: its greedy hard non-maximum suppression (a port of
 * `ssdMobilenetv1/nonMaxSuppression.ts`, same candidate order, same `> scoreThreshold` and `<= iouThreshold`
 * comparisons, same IoU on (y1, x1, y2, x2) boxes with min/max normalisation), so that the ONNX detector keeps
 * exactly the boxes face-api keeps.
 */

/** IoU of boxes `i` and `j` of a flat (y1, x1, y2, x2) array; 0 when either box is empty. */
export function iou(boxes: ArrayLike<number>, i: number, j: number): number {
  const a = 4 * i, b = 4 * j;
  const yminI = Math.min(boxes[a], boxes[a + 2]), xminI = Math.min(boxes[a + 1], boxes[a + 3]);
  const ymaxI = Math.max(boxes[a], boxes[a + 2]), xmaxI = Math.max(boxes[a + 1], boxes[a + 3]);
  const yminJ = Math.min(boxes[b], boxes[b + 2]), xminJ = Math.min(boxes[b + 1], boxes[b + 3]);
  const ymaxJ = Math.max(boxes[b], boxes[b + 2]), xmaxJ = Math.max(boxes[b + 1], boxes[b + 3]);
  const areaI = (ymaxI - yminI) * (xmaxI - xminI);
  const areaJ = (ymaxJ - yminJ) * (xmaxJ - xminJ);
  if (areaI <= 0 || areaJ <= 0) return 0;
  const ih = Math.max(Math.min(ymaxI, ymaxJ) - Math.max(yminI, yminJ), 0);
  const iw = Math.max(Math.min(xmaxI, xmaxJ) - Math.max(xminI, xminJ), 0);
  const inter = ih * iw;
  return inter / (areaI + areaJ - inter);
}

/** Limits of one non-maximum suppression. */
export interface NmsOptions {
  /** Most boxes kept (face-api's `maxResults`, default 100). */
  maxOutput?: number;
  /** Boxes overlapping a kept box by more than this are dropped (face-api uses 0.5). */
  iouThreshold?: number;
  /** Candidates need a score strictly above this (face-api's `minConfidence`). */
  scoreThreshold?: number;
}

/**
 * Greedy NMS over `scores.length` boxes given as a flat (y1, x1, y2, x2) array; returns kept indices in
 * descending score order (ties keep input order, as Array.prototype.sort is stable).
 */
export function nonMaxSuppression(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  { maxOutput = 100, iouThreshold = 0.5, scoreThreshold = 0.5 }: NmsOptions = {},
): number[] {
  const outputSize = Math.min(maxOutput, scores.length);
  const candidates: { score: number; index: number }[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] > scoreThreshold) candidates.push({ score: scores[i], index: i });
  }
  candidates.sort((a, b) => b.score - a.score);
  const selected: number[] = [];
  for (const c of candidates) {
    if (selected.length >= outputSize) break;
    let score = c.score;
    for (let j = selected.length - 1; j >= 0; --j) {
      const overlap = iou(boxes, c.index, selected[j]);
      if (overlap === 0) continue;
      if (overlap > iouThreshold) score = 0;
      if (score <= scoreThreshold) break;
    }
    if (score === c.score) selected.push(c.index);
  }
  return selected;
}
