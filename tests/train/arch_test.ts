import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { batchNormTrain, createScanCci, paramGroup } from "../../train/arch.ts";
import { initBackend } from "../../train/backend.ts";
import { scanCciParamSpecs } from "../../model/scan_cci/params.ts";
import { randomScanCci } from "../../model/scan_cci/random.ts";

await initBackend();
const WIDTH = 32;

Deno.test("createScanCci() has exactly the reference state_dict names and shapes (OIHW on export)", () => {
  const m = createScanCci({ width: WIDTH, classes: 7, seed: 1 });
  try {
    const specs = scanCciParamSpecs({ width: WIDTH, classes: 7 });
    const w = m.exportWeights();
    assert.deepEqual([...w.keys()], specs.map((s) => s.name));
    for (const s of specs) assert.deepEqual(w.get(s.name)!.shape, s.shape, s.name);
    assert.deepEqual(w.get("base.conv1.weight")!.shape, [64 / WIDTH, 3, 7, 7]);
    assert.deepEqual(m.variables.get("base.conv1.weight")!.shape, [7, 7, 3, 64 / WIDTH], "HWIO inside");
    assert.ok(!m.trainable.includes("base.bn1.running_mean"));
    assert.equal(paramGroup("base.layer3.5.conv3.weight"), "backbone");
    assert.equal(paramGroup("region.region_net.0.weight"), "heads");
  } finally {
    m.dispose();
  }
});

Deno.test("createScanCci() initialises like model/scan_cci/random.ts (same seed, same tensors)", () => {
  const m = createScanCci({ width: WIDTH, seed: 9 });
  try {
    const ref = randomScanCci({ width: WIDTH, seed: 9, style: "pytorch" });
    for (const [name, t] of m.exportWeights()) assert.deepEqual(t.data, ref.get(name)!.data, name);
  } finally {
    m.dispose();
  }
});

Deno.test("importWeights()/exportWeights() round-trip is lossless and partial import keeps the rest", () => {
  const src = randomScanCci({ width: WIDTH, seed: 3, style: "test" });
  const m = createScanCci({ width: WIDTH, seed: 1, weights: src });
  try {
    for (const [name, t] of m.exportWeights()) assert.deepEqual(t.data, src.get(name)!.data, name);
    const backbone = new Map([...src].filter(([k]) => k.startsWith("base.")));
    const p = createScanCci({ width: WIDTH, seed: 1, weights: backbone, partial: true });
    const fresh = randomScanCci({ width: WIDTH, seed: 1 });
    const out = p.exportWeights();
    assert.deepEqual(
      out.get("base.layer2.0.conv2.weight")!.data,
      src.get("base.layer2.0.conv2.weight")!.data,
    );
    assert.deepEqual(out.get("attention.fc.weight")!.data, fresh.get("attention.fc.weight")!.data);
    p.dispose();
    assert.throws(() => m.importWeights(backbone), /Cannot load SCAN\+CCI weights: missing "attention/);
  } finally {
    m.dispose();
  }
});

Deno.test("apply() returns logits = mean of 5 heads, layer3 at 14x14 and the 28x28 attention map", () => {
  const m = createScanCci({ width: WIDTH, classes: 7, seed: 2 });
  try {
    tf.tidy(() => {
      const out = m.apply(tf.randomNormal([2, 224, 224, 3], 0, 1, "float32", 1) as tf.Tensor4D);
      assert.deepEqual(out.logits.shape, [2, 7]);
      assert.deepEqual(out.heads.shape, [2, 5, 7]);
      assert.deepEqual(out.layer3.shape, [2, 14, 14, 1024 / WIDTH]);
      assert.deepEqual(out.attentionMap.shape, [2, 28, 28]);
      const diff = tf.max(tf.abs(tf.sub(out.logits, tf.mean(out.heads, 1)))).dataSync()[0];
      assert.ok(diff < 1e-6);
      assert.deepEqual(
        out.heads.slice([0, 0, 0], [2, 1, 7]).reshape([2, 7]).arraySync(),
        out.attention.arraySync(),
      );
    });
  } finally {
    m.dispose();
  }
});

Deno.test("training-mode BN updates running stats like PyTorch (momentum 0.1, unbiased variance)", () => {
  const m = createScanCci({ width: WIDTH, seed: 4 });
  try {
    const x = tf.randomNormal([2, 224, 224, 3], 0, 1, "float32", 2) as tf.Tensor4D;
    const conv = tf.conv2d(x, m.variables.get("base.conv1.weight") as tf.Tensor4D, 2, [
      [0, 0],
      [3, 3],
      [3, 3],
      [0, 0],
    ]);
    const { mean, variance } = tf.moments(conv, [0, 1, 2]);
    const n = conv.size / conv.shape[3];
    tf.tidy(() => void m.apply(x, { training: true }));
    const rm = m.variables.get("base.bn1.running_mean")!.dataSync();
    const rv = m.variables.get("base.bn1.running_var")!.dataSync();
    mean.dataSync().forEach((v, i) => assert.ok(Math.abs(rm[i] - 0.1 * v) < 1e-6));
    variance.dataSync().forEach((v, i) =>
      assert.ok(Math.abs(rv[i] - (0.9 + (0.1 * v * n) / (n - 1))) < 1e-5)
    );
    tf.dispose([x, conv, mean, variance]);
  } finally {
    m.dispose();
  }
});

Deno.test("batchNormTrain() gradients equal autodiff through tf.moments + tf.batchNorm", () => {
  const x = tf.randomNormal([3, 5, 4, 6], 1, 2, "float32", 4) as tf.Tensor4D;
  const g = tf.randomNormal([6], 1, 0.5, "float32", 5) as tf.Tensor1D;
  const b = tf.randomNormal([6], 0, 1, "float32", 6) as tf.Tensor1D;
  const w = tf.randomNormal([3, 5, 4, 6], 0, 1, "float32", 7);
  const mine = tf.grads((xx, gg, bb) => {
    const o = batchNormTrain(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D);
    tf.dispose([o.mean, o.variance]);
    return tf.sum(tf.mul(o.y, w));
  })([x, g, b]);
  const ref = tf.grads((xx, gg, bb) => {
    const { mean, variance } = tf.moments(xx, [0, 1, 2]);
    return tf.sum(
      tf.mul(tf.batchNorm(xx as tf.Tensor4D, mean, variance, bb as tf.Tensor1D, gg as tf.Tensor1D, 1e-5), w),
    );
  })([x, g, b]);
  mine.forEach((t, i) => {
    const d = tf.max(tf.abs(tf.sub(t, ref[i]))).dataSync()[0];
    assert.ok(d < 1e-4, `input ${i}: ${d}`);
  });
  tf.dispose([x, g, b, w, ...mine, ...ref]);
});
