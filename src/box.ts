/**
 * The one box type of the engine: an axis-aligned rectangle in image pixels (floats for detections, integers for
 * crops), with the two operations every stage shares: overlap and clipping to the image.
 */

/** An axis-aligned box in pixels: top-left corner and size. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Intersection over union of two boxes (0 when either is empty). */
export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** The part of `b` inside a `width`x`height` image (an empty box when it lies outside). */
export function clipBox(b: Box, width: number, height: number): Box {
  const x = Math.min(Math.max(b.x, 0), width), y = Math.min(Math.max(b.y, 0), height);
  const r = Math.min(Math.max(b.x + b.width, 0), width), btm = Math.min(Math.max(b.y + b.height, 0), height);
  return { x, y, width: r - x, height: btm - y };
}
