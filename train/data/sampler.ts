/**
 * The epoch sampler. "imbalanced" reproduces ufoym's ImbalancedDatasetSampler used by the paper: each sample is
 * weighted 1 / (its class count) and drawn with replacement, so every present class is equally likely per draw.
 * "uniform" is a plain seeded shuffle (each sample once per pass). The state is plain JSON so a checkpoint
 * can resume the exact sequence of epochs.
 */
import { createRng, type RngState } from "./rng.ts";

/** Sampling mode, as in the recipe config. */
export type SamplerMode = "imbalanced" | "uniform";

/** Serialisable sampler position: the RNG state before the next epoch and how many epochs were drawn. */
export interface SamplerState {
  mode: SamplerMode;
  epoch: number;
  rng: RngState;
}

/** Draws one epoch of sample indices at a time. */
export interface Sampler {
  /** Indices into the sample list for the next epoch (`numSamples` long). */
  nextEpoch(): Int32Array;
  state(): SamplerState;
}

/** Options of {@link createSampler}. */
export interface SamplerOptions {
  mode?: SamplerMode;
  seed?: number;
  /** Draws per epoch; default the number of samples (ufoym's default). */
  numSamples?: number;
  /** Continue from a saved state (overrides `seed`; its mode must match). */
  state?: SamplerState;
}

/**
 * Creates a sampler over samples with the given class labels. The imbalanced mode draws a class uniformly among
 * the classes present, then a sample uniformly within it: exactly the distribution of multinomial sampling
 * with weights 1/count, without building a cumulative table.
 */
export function createSampler(
  labels: ArrayLike<number>,
  { mode = "imbalanced", seed = 0, numSamples = labels.length, state }: SamplerOptions = {},
): Sampler {
  if (labels.length === 0) throw new Error("Cannot create sampler: the sample list is empty");
  if (state && state.mode !== mode) {
    throw new Error(`Cannot resume sampler: saved mode is "${state.mode}", config says "${mode}"`);
  }
  const rng = createRng(state ? state.rng : seed);
  let epoch = state?.epoch ?? 0;
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]);
    if (list) list.push(i);
    else byClass.set(labels[i], [i]);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b).map((k) => byClass.get(k)!);

  function imbalanced(): Int32Array {
    const out = new Int32Array(numSamples);
    for (let i = 0; i < numSamples; i++) {
      const members = classes[rng.int(classes.length)];
      out[i] = members[rng.int(members.length)];
    }
    return out;
  }

  function uniform(): Int32Array {
    const out = new Int32Array(numSamples);
    const n = labels.length;
    const perm = Int32Array.from({ length: n }, (_, i) => i);
    for (let filled = 0; filled < numSamples; filled += n) {
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
      }
      out.set(perm.subarray(0, Math.min(n, numSamples - filled)), filled);
    }
    return out;
  }

  return {
    nextEpoch() {
      epoch++;
      return mode === "imbalanced" ? imbalanced() : uniform();
    },
    state: () => ({ mode, epoch, rng: rng.state() }),
  };
}
