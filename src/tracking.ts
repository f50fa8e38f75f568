/**
 * Links faces across video frames into stable track ids by box overlap (greedy IoU matching, highest overlap
 * first), the simple tracker py-feat and FER users ask for. A track survives up to `maxGap` frames without a
 * match, so a face missed in one frame keeps its id.
 */
import { type Box, iou } from "./box.ts";

/**
 * Assigns a track id (0, 1, 2, ... in order of first appearance) to every face of every frame.
 * `frames[f][i]` is the box of face `i` in frame `f`; the result has the same shape.
 */
export function trackFaces(
  frames: readonly (readonly Box[])[],
  { minIou = 0.3, maxGap = 5 }: { minIou?: number; maxGap?: number } = {},
): number[][] {
  const tracks: { id: number; box: Box; last: number }[] = [];
  let next = 0;
  return frames.map((boxes, f) => {
    const live = tracks.filter((t) => f - t.last <= maxGap + 1);
    const pairs: { t: number; d: number; v: number }[] = [];
    live.forEach((t, ti) =>
      boxes.forEach((b, d) => {
        const v = iou(t.box, b);
        if (v >= minIou) pairs.push({ t: ti, d, v });
      })
    );
    pairs.sort((a, b) => b.v - a.v);
    const ids = new Array<number>(boxes.length).fill(-1);
    const usedTracks = new Set<number>();
    for (const p of pairs) {
      if (usedTracks.has(p.t) || ids[p.d] >= 0) continue;
      usedTracks.add(p.t);
      ids[p.d] = live[p.t].id;
      live[p.t].box = boxes[p.d];
      live[p.t].last = f;
    }
    return ids.map((id, d) => {
      if (id >= 0) return id;
      const t = { id: next++, box: boxes[d], last: f };
      tracks.push(t);
      return t.id;
    });
  });
}
