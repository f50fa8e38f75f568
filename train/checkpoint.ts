/**
 * Training checkpoints: one folder per save, `<dir>/epoch-0003` (or `…-step-000123` when interrupted mid-epoch),
 * holding
 *   weights.safetensors    every model tensor in the reference state_dict layout (OIHW convs, BN running stats);
 *                          loadable by model/build.ts and by PyTorch users of the reference code
 *   optimizer.safetensors  SGD momentum buffers, named like the parameters, in tfjs layout (HWIO)
 *   state.json             epoch, step, learning rates, sampler + augmentation RNG states, config hash, history
 * A folder is written under a temporary name and renamed into place, so a crash never leaves a half checkpoint
 * that `latestCheckpoint` would pick up.
 */
import { provenanceMetadata } from "../model/weights/provenance.ts";
import { readSafetensors, writeSafetensors } from "../model/weights/safetensors.ts";
import type { TensorData } from "../model/scan_cci/params.ts";
import type { RngState } from "./data/rng.ts";
import type { SamplerState } from "./data/sampler.ts";

/** Everything besides tensors that a resumed run needs to continue exactly. */
export interface CheckpointState {
  version: 1;
  /** Epoch in progress (0-based); equals the number of finished epochs when `stepInEpoch` is 0. */
  epoch: number;
  /** Optimiser steps already done inside `epoch`. */
  stepInEpoch: number;
  /** Optimiser steps since the start of training. */
  globalStep: number;
  lr: { backbone: number; heads: number };
  /** Sampler state before `epoch` was drawn (resuming redraws that epoch's order, then skips done steps). */
  sampler: SamplerState;
  augmentRng: RngState;
  configHash: string;
  width: number;
  classes: number;
  labels: string[];
  seed: number;
  /** Where the training data came from, and whether it was synthetic. */
  data: { name: string; synthetic: boolean; samples: number };
  backend: string;
  /** Data-parallel workers the run used (absent in checkpoints written before train/parallel.ts: 1). */
  workers?: number;
  history: EpochRecord[];
  /** The best epoch so far by the recipe's `selectBy` (its weights are in `<dir>/best/`); absent before any. */
  best?: BestRecord;
  savedAt: string;
}

/** Which finished epoch scored best on validation, by which metric, and its value. */
export interface BestRecord {
  epoch: number;
  metric: string;
  value: number;
}

/** Validation scores of one epoch (train/metrics.ts over the held-out split, averaged heads, eval mode). */
export interface ValidationRecord {
  accuracy: number;
  loss: number;
  samples: number;
  f1_macro: number;
  abaw2020: number;
  per_class: Record<string, { precision: number; recall: number; f1: number; support: number }>;
}

/** One finished epoch. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  seconds: number;
  imagesPerSecond: number;
  /** Learning rates of the epoch's last step (absent in checkpoints written before schedules). */
  lr?: { backbone: number; heads: number };
  validation?: ValidationRecord;
}

/** A loaded checkpoint. */
export interface Checkpoint {
  path: string;
  weights: Map<string, TensorData>;
  momentum: Map<string, TensorData>;
  state: CheckpointState;
}

function toRecord(map: Map<string, TensorData>): Record<string, TensorData> {
  return Object.fromEntries(map);
}

/** Folder name of a checkpoint: sorts by (epoch, step). */
export function checkpointName(state: Pick<CheckpointState, "epoch" | "stepInEpoch">): string {
  const e = String(state.epoch).padStart(4, "0");
  return state.stepInEpoch === 0
    ? `epoch-${e}`
    : `epoch-${e}-step-${String(state.stepInEpoch).padStart(6, "0")}`;
}

/**
 * Writes a checkpoint folder atomically (temp folder + rename) and deletes older ones beyond `keep`. Returns the
 * new folder's path. An existing folder of the same name is replaced. `name` overrides the epoch name (`best`:
 * not an epoch folder, so `keep` never deletes it and `latestCheckpoint` never resumes from it).
 */
export async function saveCheckpoint(
  dir: string,
  { weights, momentum, state }: Omit<Checkpoint, "path">,
  { keep = 3, name = checkpointName(state) }: { keep?: number; name?: string } = {},
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const final = `${dir}/${name}`;
  const tmp = `${dir}/.tmp-${name}-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp);
  // Provenance travels with the weights file (model/weights/provenance.ts), so `model:build --weights` and
  // `train export --weights` on it give the same `trained` flag as exporting the checkpoint folder would.
  const epochs = state.history.length;
  const meta = {
    format: "scan-cci",
    width: String(state.width),
    classes: String(state.classes),
    ...provenanceMetadata({
      trained: !state.data.synthetic && epochs > 0,
      source: state.data.synthetic
        ? `scan-fer checkpoint ${name}: synthetic test run (${state.data.name}; NOT facial-expression data), ` +
          `${epochs} epoch(s)`
        : `scan-fer checkpoint ${name}: tfjs training on ${state.data.name}, ${epochs} epoch(s)`,
    }),
  };
  await Deno.writeFile(`${tmp}/weights.safetensors`, writeSafetensors(toRecord(weights), meta));
  await Deno.writeFile(
    `${tmp}/optimizer.safetensors`,
    writeSafetensors(toRecord(momentum), { layout: "tfjs" }),
  );
  await Deno.writeTextFile(`${tmp}/state.json`, JSON.stringify(state, null, 2) + "\n");
  await Deno.remove(final, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, final);
  const all = await listCheckpoints(dir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await Deno.remove(old, { recursive: true });
  return final;
}

/** Checkpoint folders in `dir`, oldest first (temporary folders are ignored). */
export async function listCheckpoints(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory && /^epoch-\d{4}(-step-\d{6})?$/.test(e.name)) names.push(e.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  return names.sort().map((n) => `${dir}/${n}`);
}

/** The newest checkpoint folder in `dir`, or null. */
export async function latestCheckpoint(dir: string): Promise<string | null> {
  return (await listCheckpoints(dir)).at(-1) ?? null;
}

/** Reads a checkpoint folder; names the folder and the file in every error. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const read = async (file: string) => {
    try {
      return await Deno.readFile(`${path}/${file}`);
    } catch (err) {
      throw new Error(`Cannot load checkpoint "${path}": ${file} unreadable (${(err as Error).message})`);
    }
  };
  const state = JSON.parse(new TextDecoder().decode(await read("state.json"))) as CheckpointState;
  if (state.version !== 1) {
    throw new Error(`Cannot load checkpoint "${path}": state version is ${state.version}, expected 1`);
  }
  const weights = readSafetensors(await read("weights.safetensors")) as Map<string, TensorData>;
  const momentum = readSafetensors(await read("optimizer.safetensors")) as Map<string, TensorData>;
  return { path, weights, momentum, state };
}

/**
 * sha256 of the parts of a config that must not change across a resume (model, optimiser, loss, augmentation,
 * data, seed). `epochs`, `resume`, `checkpoint`, `outDir`, `backend`, `workers`, `validation` and `patience` may
 * change freely (a different worker count changes BN's shards, so that resume is close, not bit-exact) (`valFraction` and `selectBy` may not: they change the training samples or what "best" means).
 */
export async function configHash(config: Record<string, unknown>): Promise<string> {
  const {
    epochs: _e,
    resume: _r,
    checkpoint: _c,
    outDir: _o,
    backend: _b,
    workers: _w,
    validation: _v,
    patience: _p,
    $schema: _s,
    ...rest
  } = config;
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === "object"
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])]))
      : v;
  const bytes = new TextEncoder().encode(JSON.stringify(canon(rest)));
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
