/**
 * The video answer assembled from analysed frames: faces linked into tracks across frames (src/tracking.ts),
 * each track's scores smoothed (src/smoothing.ts), and per-track summaries (mean scores, dominant expression,
 * labelled segments). Pure: no I/O, testable without a server.
 */
import { CANONICAL_LABELS, type ExpressionLabel } from "../model/spec.ts";
import { ApiError } from "./errors.ts";
import type { AnalyzedImage } from "./classify.ts";
import { type Expression, type FaceResult, toExpression, toFaceResult } from "./expression.ts";
import { argmax, meanScores, segments, type Smoothing, smoothScores } from "./smoothing.ts";
import { trackFaces } from "./tracking.ts";

/** A face of one frame: its result plus its track id and, when smoothing, the track's smoothed expression. */
export interface VideoFace extends FaceResult {
  trackId?: number;
  smoothed?: Expression;
}

/** One frame of the answer, in input order. */
export interface FrameResult {
  index: number;
  timestamp?: number;
  image: { width: number; height: number };
  faces: VideoFace[];
}

/** One track's summary over the frames where it was seen. */
export interface TrackSummary {
  trackId: number;
  framesSeen: number;
  firstFrame: number;
  lastFrame: number;
  meanScores: Record<ExpressionLabel, number>;
  dominant: ExpressionLabel;
  /** `[startFrame, endFrame, label]`, inclusive, after smoothing. */
  segments: [number, number, ExpressionLabel][];
}

/** How to assemble: link tracks or not, and the smoothing of each track. */
export interface VideoOptions {
  track: boolean;
  smoothing: Smoothing;
}

/** The request's smoothing options (`smoothing`, `alpha`, `window`) as a `Smoothing`. */
export function smoothingOf(
  { smoothing, alpha, window }: { smoothing: Smoothing["method"]; alpha: number; window: number },
): Smoothing {
  return smoothing === "ema"
    ? { method: "ema", alpha }
    : smoothing === "window"
    ? { method: "window", size: window }
    : { method: "none" };
}

/**
 * 400 naming `track` and `smoothing` when smoothing is asked for without tracks: smoothing runs along tracks, so
 * it would silently do nothing. Shared by the frames endpoint and video jobs.
 */
export function checkSmoothing(
  { track, smoothing }: { track: boolean; smoothing: Smoothing["method"] },
): void {
  if (track || smoothing === "none") return;
  throw new ApiError(
    "invalid_request",
    `Cannot smooth with track=false: smoothing "${smoothing}" runs along tracks (set track=true or smoothing=none)`,
    {
      issues: [
        { path: "smoothing", message: `smoothing: "${smoothing}" needs track=true` },
        { path: "track", message: `track: false, but smoothing "${smoothing}" needs tracks` },
      ],
    },
  );
}

/** Links faces into tracks, smooths each track and summarises it. Mutates nothing; returns the answer's parts. */
export function assembleVideo(
  images: readonly AnalyzedImage[],
  timestamps: readonly (number | undefined)[],
  { track, smoothing }: VideoOptions,
): { frames: FrameResult[]; tracks: TrackSummary[] } {
  const frames: FrameResult[] = images.map((img, index) => ({
    index,
    ...(timestamps[index] !== undefined ? { timestamp: timestamps[index] } : {}),
    image: { width: img.width, height: img.height },
    faces: img.faces.map(toFaceResult),
  }));
  if (!track) return { frames, tracks: [] };
  const ids = trackFaces(images.map((img) => img.faces.map((f) => f.box)));
  const byTrack = new Map<number, { frame: number; face: number }[]>();
  ids.forEach((row, f) =>
    row.forEach((id, i) => {
      frames[f].faces[i].trackId = id;
      if (!byTrack.has(id)) byTrack.set(id, []);
      byTrack.get(id)!.push({ frame: f, face: i });
    })
  );
  const tracks: TrackSummary[] = [];
  for (const [trackId, obs] of [...byTrack].sort((a, b) => a[0] - b[0])) {
    const raw = obs.map((o) => images[o.frame].faces[o.face].scores);
    const smooth = smoothScores(raw, smoothing);
    if (smoothing.method !== "none") {
      obs.forEach((o, k) => frames[o.frame].faces[o.face].smoothed = toExpression(smooth[k]));
    }
    const labels = smooth.map((s) => CANONICAL_LABELS[argmax(s)]);
    const mean = meanScores(raw);
    tracks.push({
      trackId,
      framesSeen: obs.length,
      firstFrame: obs[0].frame,
      lastFrame: obs[obs.length - 1].frame,
      meanScores: toExpression(mean).scores,
      dominant: CANONICAL_LABELS[argmax(mean)],
      segments: segments(obs.map((o) => o.frame), labels) as [number, number, ExpressionLabel][],
    });
  }
  return { frames, tracks };
}
