/**
 * Data-parallel training on the CPU: N Deno Workers (train/grad_worker.ts), each with a SCAN+CCI replica on its
 * own single-threaded tfjs wasm backend, so a step uses N cores. The training loop keeps the authoritative model
 * and the optimiser; every step it sends the current trainable weights and a contiguous shard of the
 * (already augmented) batch to each worker, and averages the shards' gradients weighted by shard size, which is
 * the gradient of the whole batch's mean loss. As in PyTorch's DistributedDataParallel, BN normalises each shard
 * with its own batch statistics and the running statistics are those of the first shard's replica (DDP
 * broadcasts rank 0's buffers). tfjs-backend-wasm's own threads cannot start under Deno (train/README.md), which
 * is why the parallelism is ours.
 */
import * as tf from "@tensorflow/tfjs";
import type { RawPixels } from "../model/preprocess.ts";
import type { ScanCci } from "./arch.ts";
import type { BackendInfo } from "./backend.ts";
import type { StepSettings } from "./step.ts";
import type { WorkerReply, WorkerRequest } from "./grad_worker.ts";

/** Options of {@link createGradPool}. */
export interface GradPoolOptions {
  /** Number of workers (cores to use), >= 1. */
  workers: number;
  width: number;
  classes: number;
  seed: number;
  /** Backend each replica asks for (train/backend.ts names). */
  backend?: string;
}

/** A data-parallel step's results, the shards combined (gradients in the model's `trainable` order). */
export interface ParallelStep {
  loss: number;
  attentionLoss: number;
  regionLoss: number;
  predicted: Int32Array;
  grads: Float32Array[];
  /** BN running statistics after the step, by variable name (the first shard's replica). */
  stats: Map<string, Float32Array>;
}

/** The workers of a data-parallel run. */
export interface GradPool {
  readonly size: number;
  /** The backend the replicas run on. */
  readonly backend: string;
  /** Copies every variable of `model` (weights and BN statistics) into each replica. */
  load(model: ScanCci): Promise<void>;
  /** Forward and backward pass of `images` split across the replicas with `model`'s current trainable weights. */
  step(model: ScanCci, images: RawPixels[], labels: number[], settings: StepSettings): Promise<ParallelStep>;
  /** Eval-mode logits of `images` (row-major, `classes` per image) from the replicas' last loaded weights. */
  predict(images: RawPixels[], normalize: StepSettings["normalize"]): Promise<Float32Array>;
  /** Terminates the workers; pending calls reject. */
  close(): void;
}

/**
 * The smallest shard `auto` gives a worker. BN normalises each shard with its own statistics, and small shards
 * hurt: the seeded synthetic learning test (batch 8) reached 0.564 held-out accuracy on 2 workers (4 images per
 * shard) against 0.936 on one thread after the same 24 epochs.
 */
export const MIN_AUTO_SHARD = 8;

/**
 * How many workers a run uses: `auto` is one per core on the JavaScript backends (wasm, cpu), as long as each
 * gets at least {@link MIN_AUTO_SHARD} images, and 1 on the native `tensorflow` backend (libtensorflow is
 * multi-threaded itself); a number is taken as is, but never more than the batch size.
 */
export function resolveWorkers(setting: "auto" | number, backend: BackendInfo, batchSize: number): number {
  const wanted = setting !== "auto"
    ? setting
    : backend.name === "tensorflow"
    ? 1
    : Math.min(navigator.hardwareConcurrency, Math.floor(batchSize / MIN_AUTO_SHARD));
  return Math.max(1, Math.min(wanted, batchSize));
}

/** Sizes of `n` images split contiguously over `workers` shards, the larger ones first (empty shards dropped). */
export function shardSizes(n: number, workers: number): number[] {
  const base = Math.floor(n / workers), extra = n % workers;
  return Array.from({ length: workers }, (_, i) => base + (i < extra ? 1 : 0)).filter((s) => s > 0);
}

/**
 * The image with pixels that own their buffer: posting a view of a larger buffer (a decoded batch, a cache)
 * would clone all of it. The caller's buffers are never transferred, so they stay usable.
 */
function compact(img: RawPixels): RawPixels {
  const d = img.data;
  return d.byteOffset === 0 && d.byteLength === d.buffer.byteLength ? img : { ...img, data: d.slice() };
}

/** Starts `options.workers` gradient workers with identical replicas; rejects if any fails to initialise. */
export async function createGradPool(options: GradPoolOptions): Promise<GradPool> {
  const { workers: count, width, classes, seed, backend = "auto" } = options;
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`Cannot start training workers: count is ${count}, expected an integer >= 1`);
  }
  let nextId = 1;
  let closed = false;
  const pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  const workers = Array.from({ length: count }, (_, i) => {
    const w = new Worker(new URL("./grad_worker.ts", import.meta.url).href, {
      type: "module",
      name: `grad-worker-${i}`,
    });
    w.onmessage = (e: MessageEvent<WorkerReply>) => {
      const p = pending.get(e.data.id);
      if (!p) return;
      pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data);
      else p.reject(new Error(e.data.error));
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      fail(new Error(`Cannot continue training: gradient worker ${i} failed: ${e.message}`));
    };
    return w;
  });
  const fail = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    close();
  };
  const close = () => {
    if (closed) return;
    closed = true;
    for (const w of workers) w.terminate();
    for (const p of pending.values()) {
      p.reject(new Error("Cannot finish training step: the workers were closed"));
    }
    pending.clear();
  };
  type Ok = Extract<WorkerReply, { ok: true }>;
  // The request without its id, per message type (a plain Omit would merge the union's members).
  type Request<T> = T extends unknown ? Omit<T, "id"> : never;
  const call = <T extends Ok["type"]>(i: number, msg: Request<Extract<WorkerRequest, { type: T }>>) =>
    new Promise<Extract<Ok, { type: T }>>((resolve, reject) => {
      if (closed) return reject(new Error("Cannot run training step: the workers were closed"));
      const id = nextId++;
      pending.set(id, { resolve: resolve as (r: WorkerReply) => void, reject });
      workers[i].postMessage({ ...msg, id });
    });

  let inits: Extract<Ok, { type: "init" }>[];
  try {
    inits = await Promise.all(
      workers.map((_, i) => call<"init">(i, { type: "init", width, classes, seed, backend })),
    );
  } catch (err) {
    close();
    throw err;
  }
  const statNames = inits[0].stats;

  const split = <T>(items: T[]): T[][] => {
    let at = 0;
    return shardSizes(items.length, count).map((s) => items.slice(at, at += s));
  };

  return {
    size: count,
    backend: inits[0].backend,
    async load(model) {
      const names = [...model.variables.keys()];
      const data = names.map((n) => model.variables.get(n)!.dataSync() as Float32Array);
      await Promise.all(workers.map((_, i) => call<"load">(i, { type: "load", names, data })));
    },
    async step(model, images, labels, settings) {
      const trainable = model.trainable.map((n) => model.variables.get(n)!.dataSync() as Float32Array);
      const shards = split(images.map((img, k) => ({ img, label: labels[k] })));
      const replies = await Promise.all(shards.map((shard, i) =>
        call<"step">(i, {
          type: "step",
          trainable,
          images: shard.map((s) => compact(s.img)),
          labels: shard.map((s) => s.label),
          settings,
          returnStats: i === 0,
        })
      ));
      const n = images.length;
      const w = shards.map((s) => s.length / n);
      const grads = replies[0].grads.map((g, p) => {
        const out = new Float32Array(g.length);
        replies.forEach((r, i) => {
          const src = r.grads[p], f = w[i];
          for (let k = 0; k < out.length; k++) out[k] += src[k] * f;
        });
        return out;
      });
      const mean = (key: "loss" | "attentionLoss" | "regionLoss") =>
        replies.reduce((a, r, i) => a + r[key] * w[i], 0);
      const predicted = new Int32Array(n);
      let at = 0;
      for (const r of replies) {
        predicted.set(r.predicted, at);
        at += r.predicted.length;
      }
      return {
        loss: mean("loss"),
        attentionLoss: mean("attentionLoss"),
        regionLoss: mean("regionLoss"),
        predicted,
        grads,
        stats: new Map(statNames.map((name, i) => [name, replies[0].stats![i]])),
      };
    },
    async predict(images, normalize) {
      const shards = split(images);
      const replies = await Promise.all(
        shards.map((shard, i) =>
          call<"predict">(i, { type: "predict", images: shard.map(compact), normalize })
        ),
      );
      const out = new Float32Array(images.length * classes);
      let at = 0;
      for (const r of replies) {
        out.set(r.logits, at);
        at += r.logits.length;
      }
      return out;
    },
    close,
  };
}

/** Writes a step's BN running statistics into `model` (so checkpoints and eval on the main thread see them). */
export function assignStats(model: ScanCci, stats: Map<string, Float32Array>): void {
  tf.tidy(() => {
    for (const [name, data] of stats) {
      const v = model.variables.get(name)!;
      v.assign(tf.tensor(data, v.shape));
    }
  });
}
