import assert from "node:assert/strict";
import { defaultConfig, exampleConfig, loadConfig, parseConfig } from "../../train/config.ts";
import { CANONICAL_LABELS } from "../../model/spec.ts";

Deno.test("defaultConfig() equals the paper's recipe (SCAN+CCI, ABAW 2020, section 3.2)", () => {
  const c = defaultConfig();
  assert.deepEqual(c.optimizer, {
    type: "sgd",
    momentum: 0.9,
    lrBackbone: 1e-4,
    lrHeads: 1e-3,
    schedule: "step",
    lrDecay: 0.95,
    weightDecay: 1e-3,
  });
  assert.equal(c.batchSize, 64);
  assert.equal(c.epochs, 20);
  assert.deepEqual(c.loss, { attention: 0.2, regions: 0.8 });
  assert.deepEqual(c.augment, {
    horizontalFlip: 0.5,
    colorJitter: { brightness: 0.4, contrast: 0.3, saturation: 0.25, hue: 0.05 },
  });
  assert.deepEqual(c.normalize, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.equal(c.sampler, "imbalanced");
  assert.equal(c.model.widthDivisor, 1);
  assert.equal(c.backbone.init, "vggface2");
  assert.deepEqual(c.labels, [...CANONICAL_LABELS]);
});

Deno.test("exampleConfig() round-trips through JSON and caps Aff-Wild2 at 50k per class (Table 3)", () => {
  const c = exampleConfig();
  assert.deepEqual(parseConfig(JSON.parse(JSON.stringify(c))), c);
  assert.equal(c.datasets[0].maxPerClass, 50000);
  assert.equal(c.datasets[1].maxPerClass, null);
});

Deno.test("parseConfig() rejects typos and bad values, naming every field", () => {
  assert.throws(
    () => parseConfig({ epoch: 3 }, "t.json"),
    /Cannot read config "t\.json": \(root\): Unrecognized key: "epoch"/,
  );
  assert.throws(
    () => parseConfig({ optimizer: { momentum: 2 }, datasets: [{ reader: "imagenet", root: "/x" }] }),
    /optimizer\.momentum: .*; datasets\.0\.reader/,
  );
  assert.throws(() => parseConfig({ labels: ["anger", "neutral"] }), /labels: must be the canonical seven/);
  assert.equal(parseConfig({ labels: [...CANONICAL_LABELS, "other"] }).labels.length, 8);
  assert.throws(
    () => parseConfig({ backbone: { init: "safetensors", path: null } }),
    /backbone: needs "path"/,
  );
});

Deno.test("loadConfig() names a missing file and invalid JSON", async () => {
  await assert.rejects(
    () => loadConfig("/nonexistent/train.json"),
    /"\/nonexistent\/train\.json": file not found/,
  );
  const f = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(f, "{ nope");
  await assert.rejects(() => loadConfig(f), /invalid JSON/);
});
