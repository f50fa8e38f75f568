/**
 * The command-line options of `train export` and `train gradcam`, in one place: those modules parse them, and
 * train/main.ts checks a command line against them before loading TensorFlow.js (so usage errors are instant).
 * This module imports nothing, so the CLI can read it cheaply.
 */

/** `deno task train export` options (node:util parseArgs format). */
export const EXPORT_OPTIONS = {
  checkpoint: { type: "string" },
  weights: { type: "string" },
  out: { type: "string" },
  labels: { type: "string" },
  fp16: { type: "boolean" },
  id: { type: "string" },
  metrics: { type: "string", multiple: true },
  trained: { type: "boolean" },
  untrained: { type: "boolean" },
  source: { type: "string" },
} as const;

/** `deno task train gradcam` options (node:util parseArgs format). */
export const GRADCAM_OPTIONS = {
  weights: { type: "string" },
  out: { type: "string" },
  class: { type: "string" },
} as const;
