import assert from "node:assert/strict";
import { defaultConfig, exampleConfig } from "../../train/config.ts";
import { computeMetrics } from "../../train/metrics.ts";
import { renderModelCard } from "../../train/model_card.ts";
import { INTENDED_USE } from "../../model/spec.ts";

Deno.test("renderModelCard() shows data counts, recipe, per-class metrics, intended use and licences", () => {
  const metrics = { ...computeMetrics([0, 4, 4, 6], [0, 4, 0, 6]), dataset: "affwild2", split: "val" };
  const md = renderModelCard({
    config: exampleConfig(),
    data: [{ name: "affwild2", before: [900, 10, 5, 5, 600, 100, 50], after: [500, 10, 5, 5, 500, 100, 50] }],
    metrics: [metrics],
  });
  assert.match(md, /\*\*Not a trained expression model\.\*\*/);
  assert.ok(md.includes(INTENDED_USE));
  assert.match(md, /\| affwild2 \| 500 \(900\) \| 10 \| 5 \| 5 \| 500 \(600\) \| 100 \| 50 \|/);
  assert.match(md, /SGD, momentum 0\.9, weight decay 0\.001/);
  assert.match(md, /0\.2 \* CE\(attention\) \+ 0\.8 \* sum of 4 region CEs/);
  assert.match(md, /Accuracy 75\.0%/);
  assert.match(md, /\| happiness \| 1\.000 \| 0\.500 \| 0\.667 \| 2 \|/);
  assert.match(md, /AffectNet: academic, non-commercial research licence/);
  assert.match(md, /does not read feelings|does not measure inner emotional states/);
});

Deno.test("renderModelCard() says when a model is unmeasured instead of inventing figures", () => {
  const md = renderModelCard({ config: defaultConfig() });
  assert.match(md, /No evaluation results were given; the model is unmeasured\./);
  assert.doesNotMatch(md, /Accuracy \d/);
});

Deno.test("renderModelCard() shows the validation curve and marks the selected epoch", () => {
  const v = (f1: number) => ({
    accuracy: 0.5,
    loss: 1.2,
    samples: 10,
    f1_macro: f1,
    abaw2020: 0.2,
    per_class: {},
  });
  const epoch = (n: number, f1: number) => ({
    epoch: n,
    loss: 2 - n / 10,
    accuracy: 0.3,
    seconds: 1,
    imagesPerSecond: 1,
    validation: v(f1),
  });
  const md = renderModelCard({
    config: { ...defaultConfig(), patience: 2 },
    history: {
      best: { epoch: 2, metric: "f1_macro", value: 0.41 },
      stoppedEarly: true,
      epochs: [epoch(1, 0.3), epoch(2, 0.41), epoch(3, 0.4), epoch(4, 0.35)],
    },
  });
  assert.match(md, /Selected checkpoint: epoch 2 of 4, best validation f1_macro 0\.410\./);
  assert.match(md, /Early stopping ended the run \(patience 2\)/);
  assert.match(md, /\| \*\*2\*\* \(selected\) \| 1\.800 \| 1\.200 \| 50\.0% \| 0\.410 \| 0\.200 \|/);
  assert.match(md, /\| 4 \| 1\.600 \| 1\.200 \| 50\.0% \| 0\.350 \| 0\.200 \|/);
  assert.match(renderModelCard({ config: defaultConfig() }), /No training history was given\./);
});
