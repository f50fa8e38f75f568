/**
 * The default detector: face-api's SSD and BlazeFace on the same frame, merged. The SSD finds small and distant
 * faces (group photos) but none larger than about a third of the frame; BlazeFace (128 px input) finds faces
 * that fill the frame but boxes faces of a few input pixels badly (it put boxes between two faces of a group
 * photo). So every SSD face is kept as the SSD gives it (face-api parity on photos it handles), and a BlazeFace
 * face is added only when it is large (at least `MIN_SIDE` of the frame's longer side) and overlaps no SSD face.
 * Both nets run at once; neither runs a second pass, so a frame without a face costs one run of each.
 */
import type { Box } from "../box.ts";
import type { ModelSession } from "../session.ts";
import type { RawImage } from "../image.ts";
import { runBlazeFaceBatch } from "./blazeface.ts";
import type { Detection } from "./face.ts";
import { runSsdBatch } from "./ssd.ts";

/** Shortest BlazeFace box kept, as a fraction of the frame's longer side (below it the SSD is the better judge). */
export const MIN_SIDE = 0.25;
/**
 * A BlazeFace box and an SSD box are the same face when their intersection covers more than this share of the
 * smaller one (not IoU: a frame-filling BlazeFace box around a small SSD box has a low IoU yet is the same face).
 */
const SAME_FACE_OVERLAP = 0.5;

/**
 * BlazeFace's square box turned into the box the SSD draws for the same face, so the landmark net and the
 * expression crops see what they see with the SSD. Measured on the 169 colour and gray close-ups (the
 * `tests/faces/closeup.ts` sets) that `ssd-multiscale` and BlazeFace both find, medians of SSD over BlazeFace:
 * width 0.93x, height 1.26x, centre 0.11 box heights higher (10th-90th percentiles 0.75-1.17, 1.11-1.52,
 * -0.19 to -0.04).
 */
const TO_SSD = { width: 0.93, height: 1.26, dy: -0.11 };

/** A BlazeFace box in the SSD's framing. */
export function blazeToSsdBox(b: Box): Box {
  const cx = b.x + b.width / 2, cy = b.y + b.height / 2 + TO_SSD.dy * b.height;
  const width = b.width * TO_SSD.width, height = b.height * TO_SSD.height;
  return { x: cx - width / 2, y: cy - height / 2, width, height };
}

/** Intersection of two boxes over the area of the smaller one. */
function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / Math.max(1e-9, Math.min(a.width * a.height, b.width * b.height));
}

/** One frame's merge: the SSD's faces, plus BlazeFace's large faces that no SSD face covers; best first. */
export function mergeDetections(
  ssd: readonly Detection[],
  blaze: readonly Detection[],
  image: Pick<RawImage, "width" | "height">,
): Detection[] {
  const longer = Math.max(image.width, image.height);
  const added = blaze
    .filter((d) => Math.min(d.box.width, d.box.height) >= MIN_SIDE * longer)
    .map((d) => ({ box: blazeToSsdBox(d.box), score: d.score }))
    .filter((d) => ssd.every((s) => overlap(s.box, d.box) <= SAME_FACE_OVERLAP));
  return [...ssd, ...added].sort((a, b) => b.score - a.score);
}

/** The SSD (`sessions[0]`) and BlazeFace (`sessions[1]`) on several frames, one batch each, merged per frame. */
export async function runSsdBlazeFaceBatch(
  [ssd, blaze]: readonly ModelSession[],
  images: readonly RawImage[],
  minConfidence: number,
): Promise<Detection[][]> {
  const [a, b] = await Promise.all([
    runSsdBatch(ssd, images, minConfidence),
    runBlazeFaceBatch(blaze, images, minConfidence),
  ]);
  return images.map((image, i) => mergeDetections(a[i], b[i], image));
}
