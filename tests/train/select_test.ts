import assert from "node:assert/strict";
import { fit } from "../../train/fit.ts";
import { parseConfig } from "../../train/config.ts";
import { syntheticShapes } from "../../train/synthetic.ts";
import { listCheckpoints, loadCheckpoint } from "../../train/checkpoint.ts";
import { stratifiedSplit } from "../../train/data/split.ts";
import { historyJson } from "../../train/commands/fit.ts";

/** Width 32, 2 steps of 4 images per epoch, uniform sampler, random init, a quarter of the data held out. */
function tinyConfig(dir: string, over: Record<string, unknown> = {}) {
  return parseConfig({
    seed: 3,
    model: { widthDivisor: 32 },
    epochs: 4,
    batchSize: 4,
    stepsPerEpoch: 2,
    sampler: "uniform",
    optimizer: { lrBackbone: 0.01, lrHeads: 0.05 },
    backbone: { init: "none" },
    checkpoint: { dir, keep: 10 },
    valFraction: 0.25,
    ...over,
  });
}
const data = syntheticShapes({ count: 28, seed: 4 });

Deno.test("stratifiedSplit holds out the same samples for a seed, a share of every class, disjointly", () => {
  const labels = Int32Array.from({ length: 200 }, (_, i) => (i * 7) % 5 === 0 ? 0 : i % 4);
  const a = stratifiedSplit(labels, 0.2, 1);
  assert.deepEqual(stratifiedSplit(labels, 0.2, 1), a);
  assert.notDeepEqual(stratifiedSplit(labels, 0.2, 2).val, a.val);
  assert.equal(a.train.length + a.val.length, labels.length);
  assert.equal(new Set([...a.train, ...a.val]).size, labels.length);
  for (let c = 0; c < 4; c++) {
    const total = labels.filter((l) => l === c).length;
    const held = Array.from(a.val).filter((i) => labels[i] === c).length;
    assert.equal(held, Math.round(0.2 * total), `class ${c}`);
  }
  // A class with one sample stays in training; a class of two gives one to validation.
  const tiny = stratifiedSplit(Int32Array.from([0, 1, 1, 2, 2, 2]), 0.01, 0);
  assert.deepEqual(Array.from(tiny.val, (i) => [0, 1, 1, 2, 2, 2][i]), [1, 2]);
  assert.throws(() => stratifiedSplit(labels, 1, 0), /Cannot split training data: valFraction is 1/);
});

Deno.test("fit() keeps the epoch with the best validation macro F1 in best/, beside the last epochs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await fit(tinyConfig(dir), { data });
    assert.equal(r.validation?.samples, 7); // one of the four samples of each of the 7 classes
    assert.equal(r.data.samples, 21);
    const f1 = r.history.map((h) => h.validation!.f1_macro);
    const bestIndex = f1.indexOf(Math.max(...f1)); // the first of equal maxima: later ties are no improvement
    assert.deepEqual(r.best, { epoch: bestIndex + 1, metric: "f1_macro", value: f1[bestIndex] });
    for (const h of r.history) {
      const v = h.validation!;
      assert.ok(Math.abs(v.abaw2020 - (0.67 * v.f1_macro + 0.33 * v.accuracy)) < 1e-12);
      assert.equal(Object.keys(v.per_class).length, 7);
    }
    const best = await loadCheckpoint(r.bestCheckpoint!);
    assert.equal(best.state.epoch, r.best!.epoch);
    assert.deepEqual(best.state.best, r.best);
    const same = await loadCheckpoint(`${dir}/epoch-${String(r.best!.epoch).padStart(4, "0")}`);
    for (const [k, t] of same.weights) assert.deepEqual(best.weights.get(k)!.data, t.data, k);
    // best/ is not an epoch folder: never rotated by `keep`, never picked up by resume.
    assert.equal((await listCheckpoints(dir)).length, 4);
    const json = historyJson(tinyConfig(dir), r);
    assert.equal(json.epochs.length, 4);
    assert.deepEqual(json.best, r.best);

    // selectBy: loss picks the lowest validation loss.
    const byLoss = await fit(tinyConfig(`${dir}/loss`, { selectBy: "loss" }), {
      data,
      saveCheckpoints: false,
    });
    const losses = byLoss.history.map((h) => h.validation!.loss);
    assert.equal(byLoss.best!.value, Math.min(...losses));
    assert.equal(byLoss.bestCheckpoint, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fit() stops after `patience` epochs without improvement, and needs validation data for it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A vanishing learning rate: the scores barely move, so improvement stops soon.
    const cfg = tinyConfig(dir, {
      epochs: 12,
      patience: 2,
      optimizer: { lrBackbone: 1e-9, lrHeads: 1e-9 },
    });
    const r = await fit(cfg, { data });
    assert.equal(r.stoppedEarly, true);
    assert.equal(r.epochs, r.best!.epoch + 2);
    assert.ok(r.epochs < 12);
    assert.match(r.checkpoint!, new RegExp(`epoch-${String(r.epochs).padStart(4, "0")}$`));
    // Resuming a run that stopped early does not train on.
    const again = await fit({ ...cfg, resume: true }, { data });
    assert.equal(again.stoppedEarly, true);
    assert.equal(again.epochs, r.epochs);
    await assert.rejects(
      fit(tinyConfig(dir, { valFraction: null, patience: 2 }), { data }),
      /Cannot start training: patience is set but there is no validation data/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fit() resumed mid-run keeps the best-so-far epoch and ends with the same best/ as a straight run", async () => {
  const root = await Deno.makeTempDir();
  try {
    const straight = await fit(tinyConfig(`${root}/a`), { data });
    await fit(tinyConfig(`${root}/b`, { epochs: 2 }), { data });
    const resumed = await fit(tinyConfig(`${root}/b`, { resume: true }), { data });
    assert.deepEqual(
      resumed.history,
      straight.history.map((h, i) => ({ ...h, ...pick(resumed.history[i]) })),
    );
    assert.deepEqual(resumed.best, straight.best);
    const a = await loadCheckpoint(`${root}/a/best`), b = await loadCheckpoint(`${root}/b/best`);
    assert.equal(b.state.epoch, a.state.epoch);
    for (const [k, t] of a.weights) assert.deepEqual(b.weights.get(k)!.data, t.data, k);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Timing fields differ between runs; everything else must be identical. */
function pick(h: { seconds: number; imagesPerSecond: number }) {
  return { seconds: h.seconds, imagesPerSecond: h.imagesPerSecond };
}
