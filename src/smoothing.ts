/**
 * Temporal smoothing of per-frame expression scores along one track, and the summary a video user wants: mean
 * scores, dominant expression and labelled segments. Smoothing reduces frame-to-frame flicker (HSEmotion reports
 * a gain from it); both methods are causal, so they give the same answer a streaming client would.
 */

/** The smoothing methods a request (`smoothing=`) or the annotate CLI (`--smoothing`) may name. */
export const SMOOTHING_METHODS = ["none", "ema", "window"] as const;

/** `none`, exponential moving average with `alpha`, or a trailing mean over `window` observations. */
export type Smoothing =
  | { method: "none" }
  | { method: "ema"; alpha: number }
  | { method: "window"; size: number };

/** Smooths a sequence of score vectors (one per observation, in time order). Returns new arrays. */
export function smoothScores(seq: readonly (readonly number[])[], smoothing: Smoothing): number[][] {
  if (smoothing.method === "none") return seq.map((s) => [...s]);
  if (smoothing.method === "ema") {
    const { alpha } = smoothing;
    let state: number[] | undefined;
    return seq.map((s) => {
      state = state ? s.map((v, i) => alpha * v + (1 - alpha) * state![i]) : [...s];
      return [...state];
    });
  }
  const { size } = smoothing;
  return seq.map((_, t) => {
    const from = Math.max(0, t - size + 1);
    const out = new Array(seq[t].length).fill(0);
    for (let k = from; k <= t; k++) seq[k].forEach((v, i) => out[i] += v);
    return out.map((v) => v / (t - from + 1));
  });
}

/** Index of the largest value (first on ties). */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** A run of consecutive observed frames with the same (smoothed) label: `[startFrame, endFrame, label]`. */
export type Segment = [number, number, string];

/**
 * Splits a track into segments of constant label. `frames` are the frame indices of the observations (ascending);
 * a gap in them (a frame where the face was not seen) also ends a segment.
 */
export function segments(frames: readonly number[], labels: readonly string[]): Segment[] {
  const out: Segment[] = [];
  frames.forEach((f, i) => {
    const last = out[out.length - 1];
    if (last && last[2] === labels[i] && last[1] === frames[i - 1] && f === frames[i - 1] + 1) last[1] = f;
    else out.push([f, f, labels[i]]);
  });
  return out;
}

/** Element-wise mean of score vectors. */
export function meanScores(seq: readonly (readonly number[])[]): number[] {
  const out = new Array(seq[0]?.length ?? 0).fill(0);
  for (const s of seq) s.forEach((v, i) => out[i] += v / seq.length);
  return out;
}
