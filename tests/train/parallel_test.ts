import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../train/backend.ts";
import { createScanCci } from "../../train/arch.ts";
import { augmentImage } from "../../train/augment.ts";
import { createRng } from "../../train/data/rng.ts";
import { createGradPool, resolveWorkers, shardSizes } from "../../train/parallel.ts";
import { trainingStep } from "../../train/step.ts";
import { syntheticShapes } from "../../train/synthetic.ts";
import { parseConfig } from "../../train/config.ts";
import { evaluateModel, fit } from "../../train/fit.ts";
import { loadCheckpoint } from "../../train/checkpoint.ts";

const settings = {
  normalize: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  loss: { attention: 0.2, regions: 0.8 },
};

Deno.test("shardSizes splits a batch contiguously, larger shards first, and drops empty ones", () => {
  assert.deepEqual(shardSizes(16, 2), [8, 8]);
  assert.deepEqual(shardSizes(5, 2), [3, 2]);
  assert.deepEqual(shardSizes(7, 3), [3, 2, 2]);
  assert.deepEqual(shardSizes(1, 2), [1]);
});

Deno.test("resolveWorkers: auto is one per core on wasm with >= 8 images each, 1 on tfjs-node, never more than the batch", () => {
  const wasm = { name: "wasm" as const, package: "", customKernels: [], gpu: false };
  const native = { name: "tensorflow" as const, package: "", customKernels: [], gpu: true };
  assert.equal(
    resolveWorkers("auto", wasm, 8 * navigator.hardwareConcurrency),
    navigator.hardwareConcurrency,
  );
  assert.equal(resolveWorkers("auto", wasm, 8), 1);
  assert.equal(resolveWorkers("auto", wasm, 15), 1);
  assert.equal(resolveWorkers("auto", native, 64), 1);
  assert.equal(resolveWorkers(4, wasm, 2), 2);
  assert.equal(resolveWorkers(3, native, 64), 3);
});

Deno.test("the gradient pool returns the size-weighted mean of each shard's gradients and shard 0's BN statistics", async () => {
  await initBackend();
  const width = 32, classes = 7;
  const model = createScanCci({ width, classes, seed: 3 });
  const vars = model.trainable.map((n) => model.variables.get(n)!);
  const data = syntheticShapes({ count: 5, seed: 4 });
  const rng = createRng(9);
  const aug = {
    horizontalFlip: 0.5,
    colorJitter: { brightness: 0.4, contrast: 0.3, saturation: 0.25, hue: 0.05 },
  };
  const images = (await data.load([0, 1, 2, 3, 4])).map((img) => augmentImage(img, rng, aug));
  const labels = [0, 1, 2, 3, 4].map((i) => data.labels[i]);

  // Reference on the main thread: shards of 3 and 2 images, each from the same starting weights and BN stats.
  const start = new Map([...model.variables].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]));
  const restore = () =>
    tf.tidy(() =>
      start.forEach((d, n) => model.variables.get(n)!.assign(tf.tensor(d, model.variables.get(n)!.shape)))
    );
  const shard = (from: number, to: number) => {
    restore();
    const r = trainingStep(model, vars, images.slice(from, to), labels.slice(from, to), settings);
    const grads = vars.map((v) => r.grads[v.name].dataSync() as Float32Array);
    const out = { loss: r.loss.dataSync()[0], grads, predicted: [...r.predicted.dataSync()] };
    tf.dispose([r.loss, r.attentionLoss, r.regionLoss, r.predicted, ...Object.values(r.grads)]);
    return out;
  };
  const b = shard(3, 5);
  const a = shard(0, 3);
  const statsAfterA = new Map(
    [...model.variables.keys()].filter((n) => n.endsWith("running_mean") || n.endsWith("running_var"))
      .map((n) => [n, model.variables.get(n)!.dataSync().slice() as Float32Array]),
  );
  restore();

  const pool = await createGradPool({ workers: 2, width, classes, seed: 0 });
  try {
    assert.equal(pool.size, 2);
    // Replicas start from another seed: load() must make them equal to the model.
    await pool.load(model);
    const r = await pool.step(model, images, labels, settings);
    assert.ok(Math.abs(r.loss - (3 * a.loss + 2 * b.loss) / 5) < 1e-5, `loss ${r.loss}`);
    assert.deepEqual([...r.predicted], [...a.predicted, ...b.predicted]);
    let worst = 0, scale = 0;
    r.grads.forEach((g, p) => {
      for (let k = 0; k < g.length; k++) {
        const want = (3 * a.grads[p][k] + 2 * b.grads[p][k]) / 5;
        worst = Math.max(worst, Math.abs(g[k] - want));
        scale = Math.max(scale, Math.abs(want));
      }
    });
    assert.ok(
      scale > 0 && worst <= 1e-5 * Math.max(1, scale),
      `max gradient difference ${worst} (scale ${scale})`,
    );
    assert.equal(r.stats.size, statsAfterA.size);
    for (const [n, want] of statsAfterA) {
      const got = r.stats.get(n)!;
      for (let k = 0; k < want.length; k++) assert.ok(Math.abs(got[k] - want[k]) <= 1e-5, n);
    }

    // A bad shard answers with the worker's message and leaves the pool usable.
    const gray = { data: new Uint8Array(224 * 224), width: 224, height: 224, channels: 1 };
    await assert.rejects(
      pool.step(model, [images[0], gray], [0, 1], settings),
      /Cannot build a batch: image 0 is 224x224x1/,
    );
    const again = await pool.step(model, images, labels, settings);
    assert.ok(Number.isFinite(again.loss));

    // Eval-mode logits from the replicas give the same predictions as the main thread.
    const onMain = await evaluateModel(model, data);
    const onPool = await evaluateModel(model, data, { pool });
    assert.deepEqual([...onPool.predictions], [...onMain.predictions]);
    assert.ok(Math.abs(onPool.loss - onMain.loss) < 1e-4, `${onPool.loss} vs ${onMain.loss}`);
  } finally {
    pool.close();
    model.dispose();
  }
  await assert.rejects(pool.predict(images, settings.normalize), /closed/);
});

Deno.test("fit() on 2 workers records them, and resumes a SIGINT checkpoint bit-exactly", async () => {
  const root = await Deno.makeTempDir();
  const cfg = (dir: string, over: Record<string, unknown> = {}) =>
    parseConfig({
      seed: 5,
      model: { widthDivisor: 32 },
      epochs: 1,
      batchSize: 4,
      workers: 2,
      sampler: "uniform",
      backbone: { init: "none" },
      checkpoint: { dir, keep: 10 },
      ...over,
    });
  const data = syntheticShapes({ count: 12, seed: 2 });
  try {
    const reference = await fit(cfg(`${root}/a`), { data });
    assert.equal(reference.workers, 2);
    assert.equal(reference.globalStep, 3);
    const ck = await loadCheckpoint(reference.checkpoint!);
    assert.equal(ck.state.workers, 2);

    const stop = new AbortController();
    const first = await fit(cfg(`${root}/b`), {
      data,
      signal: stop.signal,
      onProgress: (p) => p.step === 1 && stop.abort(),
    });
    assert.ok(first.interrupted);
    const resumed = await fit(cfg(`${root}/b`, { resume: true }), { data });
    assert.equal(resumed.globalStep, 3);
    const w1 = ck.weights, w2 = (await loadCheckpoint(resumed.checkpoint!)).weights;
    for (const [k, t] of w1) assert.deepEqual(t.data, w2.get(k)!.data, k);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
