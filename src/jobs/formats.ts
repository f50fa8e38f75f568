/**
 * The text forms of a job's results, from the assembled frames (src/video.ts): CSV (one row per face, a row
 * with empty face fields for a frame without faces) and the ABAW per-frame expression file (Aff-Wild2's EXPR
 * format: a header line, then one label index per frame in ABAW order, `-1` where there is no face). Pure.
 */
import { CANONICAL_LABELS } from "../../model/spec.ts";
import type { FrameResult, VideoFace } from "../video.ts";

/** The CSV header: frame, time, track, box, label, the seven scores in canonical (ABAW) order. */
export const CSV_HEADER = [
  "frame",
  "time",
  "track",
  "x",
  "y",
  "width",
  "height",
  "label",
  ...CANONICAL_LABELS,
]
  .join(",");

/** The header line of an ABAW EXPR file (Aff-Wild2 lists `Other` as class 7; these models never predict it). */
export const ABAW_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other";

const num = (v: number | undefined, digits: number) =>
  v === undefined ? "" : String(Number(v.toFixed(digits)));

/** The per-frame expression of a face: the track's smoothed one when smoothing is on, else its own. */
function expressionOf(face: VideoFace) {
  return face.smoothed ?? face.expression;
}

/** The CSV rows of frames (no header). */
export function csvRows(frames: readonly FrameResult[]): string[] {
  const rows: string[] = [];
  for (const f of frames) {
    const time = num(f.timestamp, 4);
    if (!f.faces.length) {
      rows.push([f.index, time, "", "", "", "", "", "", ...CANONICAL_LABELS.map(() => "")].join(","));
    }
    for (const face of f.faces) {
      const e = expressionOf(face);
      rows.push([
        f.index,
        time,
        face.trackId ?? "",
        num(face.box.x, 1),
        num(face.box.y, 1),
        num(face.box.width, 1),
        num(face.box.height, 1),
        e.label,
        ...CANONICAL_LABELS.map((l) => num(e.scores[l], 5)),
      ].join(","));
    }
  }
  return rows;
}

/**
 * The face an ABAW line describes: the one with `track` when given, else the largest (by box area); none when
 * the frame has no such face.
 */
export function abawFace(frame: FrameResult, track?: number): VideoFace | undefined {
  if (track !== undefined) return frame.faces.find((f) => f.trackId === track);
  let best: VideoFace | undefined;
  for (const f of frame.faces) {
    if (!best || f.box.width * f.box.height > best.box.width * best.box.height) best = f;
  }
  return best;
}

/** One ABAW line per frame: the label index of `abawFace` in ABAW order, `-1` without a face (no header). */
export function abawLines(frames: readonly FrameResult[], track?: number): string[] {
  return frames.map((f) => {
    const face = abawFace(f, track);
    return face ? String(CANONICAL_LABELS.indexOf(expressionOf(face).label)) : "-1";
  });
}
