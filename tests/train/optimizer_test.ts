import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createOptimizer, type OptimizedParam, OPTIMIZERS } from "../../train/optimizer.ts";
import { fit } from "../../train/fit.ts";
import { parseConfig } from "../../train/config.ts";
import { syntheticShapes } from "../../train/synthetic.ts";
import { loadCheckpoint } from "../../train/checkpoint.ts";

const settings = { momentum: 0.9, weightDecay: 0.01 };

function oneParam(values: number[], group: "backbone" | "heads" = "heads"): OptimizedParam {
  return { name: "w", v: tf.variable(tf.tensor1d(values), true, `opt_test_${Math.random()}`), group };
}

Deno.test("sgd: one step is torch.optim.SGD (L2 on the gradient, momentum buffer, group learning rate)", () => {
  const p = oneParam([1, -2]);
  const opt = createOptimizer([p], { type: "sgd", ...settings });
  tf.tidy(() => opt.step({ [p.v.name]: tf.tensor1d([0.5, 0.25]) }, { backbone: 9, heads: 0.1 }, 1));
  // d = g + wd * p = [0.51, 0.23]; buf = d; p -= 0.1 * buf
  const got = p.v.dataSync();
  assert.ok(Math.abs(got[0] - (1 - 0.051)) < 1e-6 && Math.abs(got[1] - (-2 - 0.023)) < 1e-6, `${got}`);
  opt.dispose();
  p.v.dispose();
});

Deno.test("adamw: two steps match torch.optim.AdamW's formulas computed in float64", () => {
  const p = oneParam([1, -2], "backbone");
  const opt = createOptimizer([p], { type: "adamw", ...settings });
  const grads = [[0.5, -0.1], [0.2, 0.3]];
  const lr = 0.01;
  const ref = [1, -2], m = [0, 0], v = [0, 0];
  grads.forEach((g, s) => {
    const t = s + 1;
    tf.tidy(() => opt.step({ [p.v.name]: tf.tensor1d(g) }, { backbone: lr, heads: 99 }, t));
    for (let i = 0; i < 2; i++) {
      ref[i] *= 1 - lr * settings.weightDecay;
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
      ref[i] -= lr * (m[i] / (1 - 0.9 ** t)) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
    }
  });
  const got = p.v.dataSync();
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(got[i] - ref[i]) < 1e-6, `${got} vs ${ref}`);
  assert.deepEqual([...opt.buffers().keys()], ["w", "w.exp_avg_sq"]);
  opt.dispose();
  p.v.dispose();
});

Deno.test("optimizers: restored buffers continue exactly; a missing buffer names itself", () => {
  for (const type of Object.keys(OPTIMIZERS) as (keyof typeof OPTIMIZERS)[]) {
    const a = oneParam([0.3, 0.7]), b = oneParam([0.3, 0.7]);
    const g = () => ({ [a.v.name]: tf.tensor1d([0.1, -0.2]), [b.v.name]: tf.tensor1d([0.1, -0.2]) });
    const first = createOptimizer([a], { type, ...settings });
    tf.tidy(() => first.step(g(), { backbone: 0.1, heads: 0.1 }, 1));
    b.v.assign(a.v);
    const second = createOptimizer([b], { type, ...settings }, { restore: first.buffers() });
    tf.tidy(() => first.step(g(), { backbone: 0.1, heads: 0.1 }, 2));
    tf.tidy(() => second.step(g(), { backbone: 0.1, heads: 0.1 }, 2));
    assert.deepEqual(a.v.dataSync(), b.v.dataSync(), type);
    assert.throws(
      () => createOptimizer([b], { type, ...settings }, { restore: new Map(), source: "ck/x" }),
      /Cannot resume training from "ck\/x": optimizer buffer "w" is missing/,
    );
    [first, second].forEach((o) => o.dispose());
    [a, b].forEach((p) => p.v.dispose());
  }
});

Deno.test("fit() with adamw resumes from an epoch checkpoint bit-exactly", async () => {
  const root = await Deno.makeTempDir();
  const data = syntheticShapes({ count: 8, seed: 2 });
  const cfg = (dir: string, over: Record<string, unknown> = {}) =>
    parseConfig({
      seed: 5,
      model: { widthDivisor: 32 },
      epochs: 2,
      batchSize: 4,
      sampler: "uniform",
      optimizer: { type: "adamw", lrBackbone: 0.001, lrHeads: 0.002 },
      backbone: { init: "none" },
      checkpoint: { dir, keep: 10 },
      ...over,
    });
  try {
    const straight = await fit(cfg(`${root}/a`), { data });
    await fit(cfg(`${root}/b`, { epochs: 1 }), { data });
    const resumed = await fit(cfg(`${root}/b`, { resume: true }), { data });
    const [x, y] = [await loadCheckpoint(straight.checkpoint!), await loadCheckpoint(resumed.checkpoint!)];
    for (const [k, t] of x.weights) assert.deepEqual(t.data, y.weights.get(k)!.data, k);
    assert.ok(x.momentum.has("base.conv1.weight.exp_avg_sq"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
