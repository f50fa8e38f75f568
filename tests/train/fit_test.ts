import assert from "node:assert/strict";
import { evaluateModel, fit, type FitResult } from "../../train/fit.ts";
import { parseConfig } from "../../train/config.ts";
import { syntheticShapes } from "../../train/synthetic.ts";
import { loadCheckpoint } from "../../train/checkpoint.ts";
import type { TensorData } from "../../model/scan_cci/params.ts";

/** A tiny recipe: width 32, 2 steps of 4 images per epoch, plain uniform sampler, random init. */
function tinyConfig(dir: string, over: Record<string, unknown> = {}) {
  return parseConfig({
    seed: 5,
    model: { widthDivisor: 32 },
    epochs: 2,
    batchSize: 4,
    sampler: "uniform",
    optimizer: { lrBackbone: 0.01, lrHeads: 0.05 },
    backbone: { init: "none" },
    checkpoint: { dir, keep: 10 },
    ...over,
  });
}
const data = syntheticShapes({ count: 8, seed: 2 });

async function weightsOf(r: FitResult): Promise<Map<string, TensorData>> {
  if (r.model) {
    const w = r.model.exportWeights();
    r.model.dispose();
    return w;
  }
  return (await loadCheckpoint(r.checkpoint!)).weights;
}

function assertSameWeights(a: Map<string, TensorData>, b: Map<string, TensorData>) {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, t] of a) assert.deepEqual(t.data, b.get(k)!.data, k);
}

Deno.test("fit() is repeatable: the same seed gives bit-identical weights, another seed does not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cfg = tinyConfig(dir, { epochs: 1 });
    const a = await weightsOf(await fit(cfg, { data, keepModel: true, saveCheckpoints: false }));
    const b = await weightsOf(await fit(cfg, { data, keepModel: true, saveCheckpoints: false }));
    assertSameWeights(a, b);
    const c = await weightsOf(
      await fit({ ...cfg, seed: 6 }, { data, keepModel: true, saveCheckpoints: false }),
    );
    assert.notDeepEqual(a.get("base.conv1.weight")!.data, c.get("base.conv1.weight")!.data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fit() resumed from an epoch checkpoint or a SIGINT checkpoint equals an uninterrupted run", async () => {
  const root = await Deno.makeTempDir();
  try {
    const straight = await fit(tinyConfig(`${root}/a`), { data });
    assert.equal(straight.epochs, 2);
    assert.equal(straight.globalStep, 4);
    const reference = await weightsOf(straight);

    // 1 epoch, then resume for the second.
    const first = await fit(tinyConfig(`${root}/b`, { epochs: 1 }), { data });
    assert.match(first.checkpoint!, /epoch-0001$/);
    const resumed = await fit(tinyConfig(`${root}/b`, { resume: true }), { data });
    assert.equal(resumed.globalStep, 4);
    assertSameWeights(reference, await weightsOf(resumed));

    // Ctrl-C after the first step: the step finishes, a mid-epoch checkpoint is written, resume completes it.
    const controller = new AbortController();
    const stopped = await fit(tinyConfig(`${root}/c`), {
      data,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    assert.equal(stopped.interrupted, true);
    assert.match(stopped.checkpoint!, /epoch-0000-step-000001$/);
    const finished = await fit(tinyConfig(`${root}/c`, { resume: true }), { data });
    assert.equal(finished.interrupted, false);
    assertSameWeights(reference, await weightsOf(finished));

    await assert.rejects(
      fit(tinyConfig(`${root}/b`, { resume: true, optimizer: { lrBackbone: 0.02, lrHeads: 0.05 } }), {
        data,
      }),
      /Cannot resume training from .*config hash/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fit() runs one full-size (width 1) step at batch 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const t0 = performance.now();
    const r = await fit(
      tinyConfig(dir, { model: { widthDivisor: 1 }, epochs: 1, batchSize: 2, stepsPerEpoch: 1 }),
      { data: syntheticShapes({ count: 2 }), saveCheckpoints: false },
    );
    assert.equal(r.globalStep, 1);
    assert.ok(Number.isFinite(r.history[0].loss));
    console.log(`full-size step (batch 2, ${r.backend}): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The seeded tiny recipe of the learning tests: width 16, batch 8, 160 fresh synthetic samples per epoch. */
async function learnShapes(epochs: number): Promise<{ accuracy: number; seconds: number }> {
  const dir = await Deno.makeTempDir();
  try {
    const t0 = performance.now();
    const r = await fit(
      parseConfig({
        seed: 1,
        model: { widthDivisor: 16 },
        epochs,
        batchSize: 8,
        sampler: "uniform",
        samplesPerEpoch: 160,
        optimizer: { lrBackbone: 0.01, lrHeads: 0.02, weightDecay: 0 },
        augment: { colorJitter: { brightness: 0, contrast: 0, saturation: 0, hue: 0 } },
        backbone: { init: "none" },
        checkpoint: { dir },
      }),
      { data: syntheticShapes({ count: 100000, seed: 1 }), keepModel: true, saveCheckpoints: false },
    );
    const v = await evaluateModel(r.model!, syntheticShapes({ count: 140, seed: 99 }));
    r.model!.dispose();
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `tiny (width 16) synthetic, ${epochs} epochs: held-out accuracy ${v.accuracy.toFixed(3)} in ${
        seconds.toFixed(0)
      } s`,
    );
    return { accuracy: v.accuracy, seconds };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "fit() trains the tiny model to >= 90% held-out accuracy on synthetic shapes",
  // The bar, kept in every CI run: 24 epochs x 160 images, about 4-6 min on 2 cores (CI allows 90 min).
  // SKIP_LONG_TESTS=1 skips it in local edit-test loops.
  ignore: Deno.env.get("SKIP_LONG_TESTS") === "1",
  async fn() {
    const { accuracy } = await learnShapes(24);
    assert.ok(accuracy >= 0.9, `held-out accuracy ${accuracy}`);
  },
});
