/**
 * The training recipe as one zod-validated JSON file, with the paper's values as defaults (SCAN+CCI, ABAW 2020,
 * §3.2): SGD momentum 0.9, lr 1e-4 for the backbone and 1e-3 for SCAN/CCI, x0.95 per epoch, weight decay 1e-3,
 * batch 64, 20 epochs, loss 0.2*CE(attention) + 0.8*sum of the 4 region CEs, horizontal flip and colour jitter
 * (0.4, 0.3, 0.25, 0.05), normalisation mean = std = 0.5, the imbalanced-dataset sampler. `fit.ts` consumes
 * the parsed {@link TrainConfig}; `deno task train init-config` prints a filled-in example.
 */
import { z } from "zod";
import { CANONICAL_LABELS, OTHER_LABEL } from "../model/spec.ts";
import { READER_NAMES, READERS } from "./data/read.ts";
import { OPTIMIZER_NAMES } from "./optimizer.ts";
import { SCHEDULE_NAMES } from "./schedule.ts";

/** One dataset split in the mix. `maxPerClass` null = all samples (the paper's Table 3 caps: 15k..100k). */
export const DatasetEntry = z.object({
  reader: z.enum(READER_NAMES).describe(
    Object.entries(READERS).map(([name, r]) => `${name}: ${r.description}`).join("; "),
  ),
  root: z.string().min(1),
  /** Reader split name (train/val/test/all); the reader's default when omitted. */
  split: z.string().optional(),
  /** Per-class cap applied by seeded undersampling; null keeps every sample. */
  maxPerClass: z.number().int().positive().nullable().default(null),
  /** Reader-specific options (see train/data/read.ts), e.g. { "images": "original" } for RAF-DB. */
  options: z.record(z.string(), z.unknown()).default({}),
}).strict();
export type DatasetEntry = z.infer<typeof DatasetEntry>;

const Labels = z.array(z.string()).refine(
  (l) =>
    CANONICAL_LABELS.every((c, i) => l[i] === c) && l.length <= 8 &&
    l.slice(7).every((x) => x === OTHER_LABEL || x === "contempt"),
  {
    message: `must be the canonical seven (${
      CANONICAL_LABELS.join(",")
    }), optionally plus "other" or "contempt"`,
  },
);

/** The recipe. Every field has the paper's default; unknown keys are rejected so typos cannot pass silently. */
export const TrainConfig = z.object({
  $schema: z.string().optional(),
  /** Seeds the mixer, sampler, augmentation and weight init; with `resume` the saved RNG state wins. */
  seed: z.number().int().default(0),
  /** The class list (model output order). Add "other" (Aff-Wild2 ABAW3+) or "contempt" (AffectNet) for 8. */
  labels: Labels.default([...CANONICAL_LABELS]),
  model: z.object({
    /** Channel width divisor: 1 = the paper's full ResNet-50; 8 or 16 for smoke tests on CPU. */
    widthDivisor: z.number().int().positive().default(1),
  }).strict().prefault({}),
  epochs: z.number().int().positive().default(20),
  batchSize: z.number().int().positive().default(64),
  /** Cap on optimiser steps per epoch (null = one pass of `samplesPerEpoch`); for smoke runs. */
  stepsPerEpoch: z.number().int().positive().nullable().default(null),
  optimizer: z.object({
    /** train/optimizer.ts: "sgd" (the paper's) or "adamw" (for runs from random weights). */
    type: z.enum(OPTIMIZER_NAMES).default("sgd"),
    /** SGD momentum, or AdamW's beta1. */
    momentum: z.number().min(0).max(1).default(0.9),
    /** Learning rate of the ResNet-50 backbone. */
    lrBackbone: z.number().positive().default(1e-4),
    /** Learning rate of the SCAN and CCI heads. */
    lrHeads: z.number().positive().default(1e-3),
    /**
     * train/schedule.ts: "step" (the paper's: x`lrDecay` after every epoch) or "cosine" (both rates annealed
     * to 0 over the run, per step; the run's length is `epochs` x steps, or the caller's `progress`).
     */
    schedule: z.enum(SCHEDULE_NAMES).default("step"),
    /** Multiplies both learning rates after every epoch (schedule "step"). */
    lrDecay: z.number().positive().max(1).default(0.95),
    weightDecay: z.number().min(0).default(1e-3),
  }).strict().prefault({}),
  /** L = attention * CE(attention branch) + regions * sum over the 4 CCI regions of CE(region i). */
  loss: z.object({
    attention: z.number().min(0).default(0.2),
    regions: z.number().min(0).default(0.8),
  }).strict().prefault({}),
  augment: z.object({
    /** Probability of a horizontal flip. */
    horizontalFlip: z.number().min(0).max(1).default(0.5),
    colorJitter: z.object({
      brightness: z.number().min(0).default(0.4),
      contrast: z.number().min(0).default(0.3),
      saturation: z.number().min(0).default(0.25),
      hue: z.number().min(0).max(0.5).default(0.05),
    }).strict().prefault({}),
  }).strict().prefault({}),
  /** x = (u8 / 255 - mean) / std per RGB channel; must match model/spec.ts SCAN_CCI_INPUT to serve. */
  normalize: z.object({
    mean: z.array(z.number()).length(3).default([0.5, 0.5, 0.5]),
    std: z.array(z.number().positive()).length(3).default([0.5, 0.5, 0.5]),
  }).strict().prefault({}),
  /** Training mix. */
  datasets: z.array(DatasetEntry).default([]),
  /** Evaluated after every epoch (metrics over all frames); `fit --val reader:root[:split]` sets one. */
  validation: z.array(DatasetEntry).default([]),
  /**
   * Without `validation`: hold out this seeded, stratified fraction of the training samples and validate on it
   * (train/data/split.ts); null = no held-out split.
   */
  valFraction: z.number().gt(0).lt(1).nullable().default(null),
  /** The validation metric that picks the `best/` checkpoint (higher is better, except `loss`). */
  selectBy: z.enum(["f1_macro", "accuracy", "abaw2020", "loss"]).default("f1_macro"),
  /** Stop after this many epochs without a better `selectBy` value; null = train every epoch. */
  patience: z.number().int().positive().nullable().default(null),
  /** "imbalanced": weights 1/class count, with replacement (ufoym's sampler); "uniform": shuffled pass. */
  sampler: z.enum(["imbalanced", "uniform"]).default("imbalanced"),
  /** Draws per epoch; null = the number of training samples (the imbalanced sampler's default). */
  samplesPerEpoch: z.number().int().positive().nullable().default(null),
  backbone: z.object({
    /** "vggface2": the reference pickle; "safetensors": a converted file; "none": random init. */
    init: z.enum(["vggface2", "safetensors", "none"]).default("vggface2"),
    path: z.string().nullable().default("artifacts/weights/resnet50_ft_weight.pkl"),
  }).strict().prefault({}).refine((b) => b.init === "none" || (b.path ?? "") !== "", {
    message: 'needs "path" unless init is "none"',
  }),
  checkpoint: z.object({
    dir: z.string().default("artifacts/checkpoints"),
    /** Save every N epochs (the last epoch is always saved). */
    everyEpochs: z.number().int().positive().default(1),
    /** How many epoch checkpoints to keep (older ones are deleted). */
    keep: z.number().int().positive().default(3),
  }).strict().prefault({}),
  /** true: continue from the latest checkpoint in `checkpoint.dir`; a string: from that checkpoint folder. */
  resume: z.union([z.boolean(), z.string()]).default(false),
  /** Where metrics, plots and the model card go. */
  outDir: z.string().default("artifacts/train"),
  /** tfjs backend preference, read by train/backend.ts ("auto" picks the fastest available). */
  backend: z.string().default("auto"),
  /**
   * Data-parallel gradient workers (train/parallel.ts): "auto" = one per core on the wasm/cpu backends while
   * each gets >= 8 images of the batch, 1 on tfjs-node; 1 = train on the main thread. BN normalises each
   * worker's shard on its own (small shards learn worse), so a resume is bit-exact only with the same count.
   */
  workers: z.union([z.literal("auto"), z.number().int().positive()]).default("auto"),
}).strict();
export type TrainConfig = z.infer<typeof TrainConfig>;

/** The paper's defaults with no datasets. */
export function defaultConfig(): TrainConfig {
  return TrainConfig.parse({});
}

/**
 * The paper's best Table 3 mix as an editable example: Aff-Wild2 capped at 50k per class plus AffectNet and
 * ExpW (aligned by `prepare`), validated on Aff-Wild2's validation set. Roots are placeholders.
 */
export function exampleConfig(): TrainConfig {
  return TrainConfig.parse({
    datasets: [
      { reader: "affwild2", root: "/data/Aff-Wild2", split: "train", maxPerClass: 50000 },
      { reader: "prepared", root: "/data/prepared/affectnet", split: "train" },
      { reader: "prepared", root: "/data/prepared/expw" },
    ],
    validation: [{ reader: "affwild2", root: "/data/Aff-Wild2", split: "val" }],
  });
}

/** Validates parsed JSON, naming the source and every bad field in one message. */
export function parseConfig(json: unknown, source = "config"): TrainConfig {
  const r = TrainConfig.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`Cannot read config "${source}": ${issues}`);
  }
  return r.data;
}

/** Reads and validates a config file. */
export async function loadConfig(path: string): Promise<TrainConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(`Cannot read config "${path}": file not found`);
    throw new Error(`Cannot read config "${path}": ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot read config "${path}": invalid JSON (${(err as Error).message})`);
  }
  return parseConfig(json, path);
}
