/**
 * The command-line options of `train export`, in one place: train/export.ts parses them, and
 * train/commands/export.ts checks a command line against them first (so usage mistakes exit 2).
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
