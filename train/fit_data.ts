/**
 * Where `fit` gets its inputs when the caller does not pass them: the training mix named by the recipe
 * (`config.datasets`, read and capped with train/data/*, decoded to 224x224 RGB on demand) and the backbone
 * initialisation (`config.backbone`: the reference VGGFace2 pickle, a safetensors file, or none).
 */
import type { TrainConfig } from "./config.ts";
import type { TrainData } from "./synthetic.ts";
import type { TensorData } from "../model/scan_cci/params.ts";
import { readDataset } from "./data/read.ts";
import { mixDatasets } from "./data/mix.ts";
import type { Sample } from "./data/sample.ts";
import { loadImages } from "./data/images.ts";
import { stratifiedSplit } from "./data/split.ts";
import { readSafetensors } from "../model/weights/safetensors.ts";
import { vggface2Backbone } from "../model/weights/vggface2.ts";

/** Reads and mixes `config.datasets` into a {@link TrainData} that decodes images per batch. */
export async function loadTrainData(config: TrainConfig): Promise<TrainData> {
  if (config.datasets.length === 0) {
    throw new Error(
      'Cannot start training: config has no "datasets" (add at least one, see `deno task train init-config`)',
    );
  }
  const parts = [];
  for (const d of config.datasets) {
    const { samples } = await readDataset(d, { labels: config.labels });
    parts.push({ name: `${d.reader}:${d.root}`, samples, maxPerClass: d.maxPerClass });
  }
  const { samples } = mixDatasets(parts, { seed: config.seed, numClasses: config.labels.length });
  if (samples.length === 0) throw new Error("Cannot start training: the configured datasets hold no samples");
  return {
    name: parts.map((p) => p.name).join("+"),
    synthetic: false,
    labels: Int32Array.from(samples, (s) => s.label),
    load: (indices) => loadImages(Array.from(indices, (i) => samples[i]), { size: 224 }),
  };
}

/**
 * `config.validation` as {@link TrainData} (no mixing, no caps: every sample of every split), or undefined when
 * the config names no validation split.
 */
export async function loadValidationData(config: TrainConfig): Promise<TrainData | undefined> {
  if (config.validation.length === 0) return undefined;
  const samples: Sample[] = [];
  for (const d of config.validation) {
    samples.push(...(await readDataset(d, { labels: config.labels })).samples);
  }
  return {
    name: config.validation.map((d) => d.reader).join("+"),
    synthetic: false,
    labels: Int32Array.from(samples, (s) => s.label),
    load: (indices) => loadImages(Array.from(indices, (i) => samples[i])),
  };
}

/**
 * The configured backbone weights under `base.*` names, or null for `init: "none"`. The VGGFace2 pickle is
 * mapped like the reference util.load_state_dict (model/weights/vggface2.ts: all but layer4 and fc, as `base.*`).
 * A safetensors file may hold a full model or only `base.*` (DataParallel `module.` prefixes are dropped).
 */
export async function loadInitWeights(config: TrainConfig): Promise<Map<string, TensorData> | null> {
  const { init, path } = config.backbone;
  if (init === "none" || !path) return null;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new Error(`Cannot load backbone "${path}" (${init}): ${(err as Error).message}`);
  }
  // The model helper's reader does the reference mapping and checks every shape against full-width ResNet-50.
  if (init === "vggface2") return vggface2Backbone(bytes);
  const out = new Map<string, TensorData>();
  for (const [raw, t] of readSafetensors(bytes)) {
    const name = raw.replace(/^module\./, "").replace(/^(base|attention|region)\.module\./, "$1.");
    out.set(name, { shape: t.shape, data: t.data });
  }
  return out;
}

/**
 * Splits `data` into a training part and a held-out part of `fraction` per class (train/data/split.ts, seeded),
 * both loading through `data.load`, so the held-out images are decoded exactly as the training images are.
 */
export function splitTrainData(
  data: TrainData,
  fraction: number,
  seed: number,
): { train: TrainData; val: TrainData } {
  const split = stratifiedSplit(data.labels, fraction, seed);
  const part = (idx: Int32Array, what: string): TrainData => ({
    name: `${data.name} (${what} of a ${fraction} stratified split, seed ${seed})`,
    synthetic: data.synthetic,
    labels: Int32Array.from(idx, (i) => data.labels[i]),
    load: (indices) => data.load(Array.from(indices, (i) => idx[i])),
  });
  return { train: part(split.train, "train part"), val: part(split.val, "held-out part") };
}
