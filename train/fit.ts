/**
 * The SCAN+CCI training loop (the reference train_affwild2.py in TensorFlow.js): SGD with momentum and L2 weight
 * decay added to the gradient (PyTorch's `weight_decay`; or AdamW, train/optimizer.ts), two parameter groups (ResNet backbone vs SCAN/CCI
 * heads) with their own learning rates, both x`lrDecay` after every epoch or annealed over the run
 * (train/schedule.ts); loss
 * `attention * CE(attention head) + regions * sum of the 4 CCI region CEs`; seeded flip + colour-jitter
 * augmentation; BN in training mode. A checkpoint is written every `checkpoint.everyEpochs` epochs and when
 * `signal` aborts (after the step in flight), and `resume` continues bit-exactly: same weights, momentum,
 * sample order and augmentation draws as an uninterrupted run.
 */
import * as tf from "@tensorflow/tfjs";
import type { TrainConfig } from "./config.ts";
import { initBackend } from "./backend.ts";
import { createScanCci, paramGroup, type ScanCci } from "./arch.ts";
import { augmentImage, toBatchTensor } from "./augment.ts";
import { crossEntropy, trainingStep } from "./step.ts";
import { assignStats, createGradPool, type GradPool, resolveWorkers } from "./parallel.ts";
import {
  type BestRecord,
  type CheckpointState,
  configHash,
  type EpochRecord,
  latestCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import { createRng } from "./data/rng.ts";
import { createSampler } from "./data/sampler.ts";
import type { TrainData } from "./synthetic.ts";
import { loadInitWeights, loadTrainData, splitTrainData } from "./fit_data.ts";
import { computeMetrics } from "./metrics.ts";
import { createOptimizer } from "./optimizer.ts";
import { LR_SCHEDULES } from "./schedule.ts";

/** Reported after every step. */
export interface FitProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  globalStep: number;
  loss: number;
  attentionLoss: number;
  regionLoss: number;
  /** Running training accuracy of the averaged heads in this epoch. */
  accuracy: number;
  imagesPerSecond: number;
  /** Seconds left for the whole run at the current speed. */
  etaSeconds: number;
  lr: { backbone: number; heads: number };
}

/** What `fit` returns. */
export interface FitResult {
  /** Last checkpoint folder written (null if none was). */
  checkpoint: string | null;
  /** True when stopped by the signal (the checkpoint is then resumable mid-epoch). */
  interrupted: boolean;
  epochs: number;
  globalStep: number;
  history: EpochRecord[];
  backend: string;
  /** Data-parallel workers used (1: the main thread). */
  workers: number;
  data: { name: string; synthetic: boolean; samples: number };
  /** The held-out data validated on after every epoch (null: none). */
  validation: { name: string; samples: number } | null;
  /** The best epoch by `config.selectBy` so far (null without validation). */
  best: BestRecord | null;
  /** Folder of the best epoch's checkpoint (`<checkpoint.dir>/best`), null if none was written. */
  bestCheckpoint: string | null;
  /** True when `patience` epochs passed without improvement and training stopped before `epochs`. */
  stoppedEarly: boolean;
  /** The model, when `keepModel` was set (the caller must dispose it). */
  model?: ScanCci;
}

/** Options of {@link fit}. */
export interface FitOptions {
  onProgress?: (p: FitProgress) => void;
  /** Called after every epoch with its record. */
  onEpoch?: (r: EpochRecord) => void;
  /** Abort to stop after the current step and write a resumable checkpoint. */
  signal?: AbortSignal;
  /** Training data; default: read and mix `config.datasets` (train/fit_data.ts). */
  data?: TrainData;
  /**
   * Held-out data evaluated after every epoch (metrics of the averaged heads); default: a `config.valFraction`
   * split of the training data, if set.
   */
  validationData?: TrainData;
  /** Return the trained model instead of disposing it. */
  keepModel?: boolean;
  /** Write checkpoints (default true); off for throwaway timing runs of the full-size model. */
  saveCheckpoints?: boolean;
  /**
   * How much of the run is done, 0..1, for a schedule that anneals over it (`cosine`); read before every step.
   * Default: steps done over `epochs` x steps per epoch. A run with a wall-clock budget passes elapsed / budget.
   */
  progress?: (globalStep: number) => number;
}

/**
 * Accuracy and mean loss of the averaged heads on `data`, in eval mode (BN running statistics), no augmentation.
 */
export async function evaluateModel(
  model: ScanCci,
  data: TrainData,
  { batchSize = 16, mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5], pool }: {
    batchSize?: number;
    mean?: number[];
    std?: number[];
    /** Run the forward passes on these workers (after loading the model's weights into them). */
    pool?: GradPool;
  } = {},
): Promise<{ accuracy: number; loss: number; samples: number; predictions: Int32Array }> {
  const n = data.labels.length;
  const predictions = new Int32Array(n);
  let correct = 0, lossSum = 0;
  if (pool) await pool.load(model);
  const size = pool ? batchSize * pool.size : batchSize;
  for (let b = 0; b < n; b += size) {
    const idx = Array.from({ length: Math.min(size, n - b) }, (_, i) => b + i);
    const images = await data.load(idx);
    if (pool) {
      const logits = await pool.predict(images, { mean, std });
      const k = model.classes;
      idx.forEach((i, r) => {
        const row = logits.subarray(r * k, (r + 1) * k);
        let arg = 0, max = -Infinity;
        for (let c = 0; c < k; c++) if (row[c] > max) [max, arg] = [row[c], c];
        let sum = 0;
        for (let c = 0; c < k; c++) sum += Math.exp(row[c] - max);
        lossSum += max + Math.log(sum) - row[data.labels[i]];
        predictions[i] = arg;
        if (arg === data.labels[i]) correct++;
      });
      continue;
    }
    const [pred, loss] = tf.tidy(() => {
      const out = model.apply(toBatchTensor(images, { mean, std }));
      const labels = tf.tensor1d(idx.map((i) => data.labels[i]), "int32");
      const l = crossEntropy(out.logits, tf.oneHot(labels, model.classes).toFloat() as tf.Tensor2D);
      return [tf.argMax(out.logits, 1), l];
    });
    const p = await pred.data();
    lossSum += (await loss.data())[0] * idx.length;
    tf.dispose([pred, loss]);
    idx.forEach((i, k) => {
      predictions[i] = p[k];
      if (p[k] === data.labels[i]) correct++;
    });
  }
  return { accuracy: correct / n, loss: lossSum / n, samples: n, predictions };
}

/**
 * Trains SCAN+CCI with `config` and returns where the result went. Throws `Cannot resume training: …` when
 * the checkpoint belongs to a different recipe (config hash) or model size.
 */
export async function fit(config: TrainConfig, options: FitOptions = {}): Promise<FitResult> {
  const { onProgress, onEpoch, signal, keepModel = false, saveCheckpoints = true } = options;
  const schedule = LR_SCHEDULES[config.optimizer.schedule];
  const backend = await initBackend({ backend: config.backend as "auto" });
  const classes = config.labels.length;
  const width = config.model.widthDivisor;
  let data = options.data ?? (await loadTrainData(config));
  let validationData = options.validationData;
  if (!validationData && config.valFraction !== null) {
    ({ train: data, val: validationData } = splitTrainData(data, config.valFraction, config.seed));
  }
  if (config.patience !== null && !validationData) {
    throw new Error(
      "Cannot start training: patience is set but there is no validation data (set validation or valFraction)",
    );
  }
  const hash = await configHash(config as unknown as Record<string, unknown>);
  const opt = config.optimizer;

  // Resume, or start from the configured initialisation.
  let resumeFrom: string | null = null;
  if (config.resume === true) resumeFrom = await latestCheckpoint(config.checkpoint.dir);
  else if (typeof config.resume === "string") resumeFrom = config.resume;
  const ckpt = resumeFrom ? await loadCheckpoint(resumeFrom) : null;
  if (ckpt) {
    const s = ckpt.state;
    if (s.configHash !== hash) {
      throw new Error(
        `Cannot resume training from "${ckpt.path}": config hash is ${hash.slice(0, 12)}, checkpoint has ${
          s.configHash.slice(0, 12)
        } (model, optimiser, loss, augmentation, data or seed changed)`,
      );
    }
    if (s.data.samples !== data.labels.length) {
      throw new Error(
        `Cannot resume training from "${ckpt.path}": it saw ${s.data.samples} samples, the data now has ${data.labels.length}`,
      );
    }
  }
  const model = createScanCci({ width, classes, seed: config.seed });
  if (ckpt) model.importWeights(ckpt.weights);
  else {
    const init = await loadInitWeights(config);
    if (init) model.importWeights(init, { partial: true });
  }
  const params = model.trainable.map((name) => ({
    name,
    v: model.variables.get(name)!,
    group: paramGroup(name),
  }));
  const optimizer = createOptimizer(params, opt, ckpt ? { restore: ckpt.momentum, source: ckpt.path } : {});
  const vars = params.map((p) => p.v);
  const workers = resolveWorkers(config.workers, backend, config.batchSize);
  let pool: GradPool | null = null;

  const numSamples = config.samplesPerEpoch ?? data.labels.length;
  const sampler = ckpt
    ? createSampler(data.labels, { mode: config.sampler, numSamples, state: ckpt.state.sampler })
    : createSampler(data.labels, { mode: config.sampler, seed: config.seed, numSamples });
  const augRng = createRng(ckpt ? ckpt.state.augmentRng : (config.seed ^ 0x5eed) >>> 0);
  const fullSteps = Math.ceil(numSamples / config.batchSize);
  const steps = Math.min(fullSteps, config.stepsPerEpoch ?? fullSteps);
  let epoch = ckpt?.state.epoch ?? 0;
  let stepInEpoch = ckpt?.state.stepInEpoch ?? 0;
  let globalStep = ckpt?.state.globalStep ?? 0;
  const history: EpochRecord[] = [...(ckpt?.state.history ?? [])];
  let best: BestRecord | null = ckpt?.state.best ?? null;
  let bestCheckpoint: string | null = null;
  const lowerIsBetter = config.selectBy === "loss";
  const improves = (v: number) => best === null || (lowerIsBetter ? v < best.value : v > best.value);
  // Derived from the history and the best epoch, so a resumed run counts the same epochs without improvement.
  const patienceSpent = () =>
    config.patience !== null && best !== null && epoch - best.epoch >= config.patience;
  const progressAt = options.progress ?? ((s: number) => s / (config.epochs * steps));
  const lrAt = (e: number, s: number) => {
    const f = schedule({ epoch: e, progress: progressAt(s), decay: opt.lrDecay });
    return { backbone: opt.lrBackbone * f, heads: opt.lrHeads * f };
  };
  const dataInfo = { name: data.name, synthetic: data.synthetic, samples: data.labels.length };
  let lastCheckpoint: string | null = null;

  const save = async (samplerState: CheckpointState["sampler"], name?: string) => {
    if (!saveCheckpoints) return;
    const state: CheckpointState = {
      version: 1,
      epoch,
      stepInEpoch,
      globalStep,
      lr: lrAt(epoch, globalStep),
      sampler: samplerState,
      augmentRng: augRng.state(),
      configHash: hash,
      width,
      classes,
      labels: [...config.labels],
      seed: config.seed,
      data: dataInfo,
      backend: backend.name,
      workers,
      history,
      ...(best ? { best } : {}),
      savedAt: new Date().toISOString(),
    };
    const path = await saveCheckpoint(config.checkpoint.dir, {
      weights: model.exportWeights(),
      momentum: optimizer.buffers(),
      state,
    }, {
      keep: config.checkpoint.keep,
      name,
    });
    if (name === "best") bestCheckpoint = path;
    else lastCheckpoint = path;
  };

  const started = performance.now();
  let imagesDone = 0;
  let interrupted = false;
  let stoppedEarly = false;
  const aug = config.augment;
  try {
    // Inside the try, so the workers are closed whatever fails later.
    if (workers > 1) {
      pool = await createGradPool({ workers, width, classes, seed: config.seed, backend: backend.name });
      await pool.load(model);
    }
    while (epoch < config.epochs && !interrupted) {
      if (patienceSpent()) {
        stoppedEarly = true;
        break;
      }
      const samplerBefore = sampler.state();
      const order = sampler.nextEpoch();
      let lr = lrAt(epoch, globalStep);
      const epochStart = performance.now();
      let lossSum = 0, correct = 0, seen = 0;
      for (let step = stepInEpoch; step < steps; step++) {
        const idx = order.subarray(
          step * config.batchSize,
          Math.min((step + 1) * config.batchSize, numSamples),
        );
        lr = lrAt(epoch, globalStep);
        const raw = await data.load(idx);
        const images = raw.map((img) => augmentImage(img, augRng, aug));
        const labels = Array.from(idx, (i) => data.labels[i]);
        let lv: number, av: number, rv: number, pv: ArrayLike<number>;
        if (pool) {
          const r = await pool.step(model, images, labels, config);
          tf.tidy(() => {
            const grads = Object.fromEntries(
              params.map((p, i) => [p.v.name, tf.tensor(r.grads[i], p.v.shape)]),
            );
            optimizer.step(grads, lr, globalStep + 1);
          });
          assignStats(model, r.stats);
          [lv, av, rv, pv] = [r.loss, r.attentionLoss, r.regionLoss, r.predicted];
        } else {
          const r = trainingStep(model, vars, images, labels, config);
          tf.tidy(() => optimizer.step(r.grads, lr, globalStep + 1));
          [lv, av, rv] = [
            (await r.loss.data())[0],
            (await r.attentionLoss.data())[0],
            (await r.regionLoss.data())[0],
          ];
          pv = await r.predicted.data();
          tf.dispose([r.loss, r.attentionLoss, r.regionLoss, r.predicted, ...Object.values(r.grads)]);
        }
        if (!Number.isFinite(lv)) {
          throw new Error(`Cannot continue training: loss is ${lv} at epoch ${epoch + 1} step ${step + 1}`);
        }
        lossSum += lv * idx.length;
        seen += idx.length;
        labels.forEach((l, k) => (correct += pv[k] === l ? 1 : 0));
        globalStep++;
        stepInEpoch = step + 1;
        imagesDone += idx.length;
        const elapsed = (performance.now() - started) / 1000;
        const ips = imagesDone / Math.max(elapsed, 1e-9);
        const stepsLeft = (config.epochs - epoch) * steps - stepInEpoch;
        onProgress?.({
          epoch: epoch + 1,
          epochs: config.epochs,
          step: step + 1,
          steps,
          globalStep,
          loss: lv,
          attentionLoss: av,
          regionLoss: rv,
          accuracy: correct / seen,
          imagesPerSecond: ips,
          etaSeconds: (stepsLeft * config.batchSize) / ips,
          lr,
        });
        if (signal?.aborted && stepInEpoch < steps) {
          interrupted = true;
          await save(samplerBefore);
          break;
        }
      }
      if (interrupted) break;
      const seconds = (performance.now() - epochStart) / 1000;
      const record: EpochRecord = {
        epoch: epoch + 1,
        loss: lossSum / Math.max(seen, 1),
        accuracy: correct / Math.max(seen, 1),
        seconds,
        imagesPerSecond: seen / seconds,
        lr,
      };
      let improved = false;
      if (validationData) {
        const v = await evaluateModel(model, validationData, {
          ...config.normalize,
          pool: pool ?? undefined,
        });
        const m = computeMetrics(validationData.labels, v.predictions, { labels: config.labels });
        record.validation = {
          accuracy: v.accuracy,
          loss: v.loss,
          samples: v.samples,
          f1_macro: m.f1_macro,
          abaw2020: m.abaw2020,
          per_class: m.per_class,
        };
        const value = record.validation[config.selectBy];
        if (improves(value)) {
          best = { epoch: epoch + 1, metric: config.selectBy, value };
          improved = true;
        }
      }
      history.push(record);
      onEpoch?.(record);
      epoch++;
      stepInEpoch = 0;
      const stop = patienceSpent();
      const last = epoch === config.epochs || stop;
      if (last || epoch % config.checkpoint.everyEpochs === 0 || signal?.aborted) await save(sampler.state());
      if (improved) await save(sampler.state(), "best");
      if (signal?.aborted) interrupted = !last;
      if (stop && epoch < config.epochs) stoppedEarly = true;
      if (stop) break;
    }
  } finally {
    pool?.close();
    optimizer.dispose();
    if (!keepModel) model.dispose();
  }
  return {
    checkpoint: lastCheckpoint,
    interrupted,
    epochs: epoch,
    globalStep,
    history,
    backend: backend.name,
    workers,
    data: dataInfo,
    validation: validationData ? { name: validationData.name, samples: validationData.labels.length } : null,
    best,
    bestCheckpoint: bestCheckpoint ?? (best && saveCheckpoints ? `${config.checkpoint.dir}/best` : null),
    stoppedEarly,
    model: keepModel ? model : undefined,
  };
}
