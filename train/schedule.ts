/**
 * Learning-rate schedules, one table: the factor both base rates (backbone, heads) are multiplied by at a point
 * of the run. `step` is the paper's (x`lrDecay` after every epoch); `cosine` anneals to zero along half a cosine
 * over the run, which a run of fixed length (steps or wall-clock time) can only use if it knows how far it is.
 */

/** Where the run is: epochs completed, the fraction of the run done (0..1), the per-epoch decay. */
export interface SchedulePoint {
  epoch: number;
  progress: number;
  decay: number;
}

/** Every schedule by name. */
export const LR_SCHEDULES = {
  /** x`decay` after every epoch (the paper: 0.95 per pass over the training set). */
  step: ({ epoch, decay }: SchedulePoint) => decay ** epoch,
  /**
   * 1 at the start, 0 at the end of the run: the last steps take small ones, so the weights settle instead of
   * ending wherever the last large step left them (a run that stops early keeps a constant rate for ever).
   */
  cosine: ({ progress }: SchedulePoint) => 0.5 * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, progress)))),
} as const satisfies Record<string, (p: SchedulePoint) => number>;

/** A schedule's name. */
export type ScheduleName = keyof typeof LR_SCHEDULES;

/** The names, for config enums and CLI choices. */
export const SCHEDULE_NAMES = Object.keys(LR_SCHEDULES) as [ScheduleName, ...ScheduleName[]];
