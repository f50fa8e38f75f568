import assert from "node:assert/strict";
import { LR_SCHEDULES } from "../../train/schedule.ts";
import { fit } from "../../train/fit.ts";
import { parseConfig } from "../../train/config.ts";
import { syntheticShapes } from "../../train/synthetic.ts";

Deno.test("LR_SCHEDULES: step decays per epoch; cosine runs 1 -> 0.5 -> 0 over the run and clamps outside it", () => {
  const at = (epoch: number, progress: number) => ({ epoch, progress, decay: 0.9 });
  assert.equal(LR_SCHEDULES.step(at(0, 0.7)), 1);
  assert.ok(Math.abs(LR_SCHEDULES.step(at(3, 0)) - 0.729) < 1e-12);
  assert.equal(LR_SCHEDULES.cosine(at(5, 0)), 1);
  assert.ok(Math.abs(LR_SCHEDULES.cosine(at(0, 0.5)) - 0.5) < 1e-12);
  assert.ok(Math.abs(LR_SCHEDULES.cosine(at(0, 1))) < 1e-12);
  assert.ok(Math.abs(LR_SCHEDULES.cosine(at(0, 1.3))) < 1e-12);
  assert.equal(LR_SCHEDULES.cosine(at(0, -0.1)), 1);
  for (let p = 0; p < 1; p += 0.05) {
    assert.ok(LR_SCHEDULES.cosine(at(0, p + 0.05)) < LR_SCHEDULES.cosine(at(0, p)), `falls at ${p}`);
  }
});

Deno.test("fit() with the cosine schedule anneals both rates per step over epochs x steps, or over the caller's progress", async () => {
  const config = parseConfig({
    seed: 5,
    model: { widthDivisor: 32 },
    epochs: 2,
    batchSize: 4,
    sampler: "uniform",
    optimizer: { lrBackbone: 0.01, lrHeads: 0.05, schedule: "cosine" },
    backbone: { init: "none" },
  });
  const data = syntheticShapes({ count: 8, seed: 2 });
  const seen: number[] = [];
  const r = await fit(config, { data, saveCheckpoints: false, onProgress: (p) => seen.push(p.lr.backbone) });
  // 2 epochs x 2 steps: progress 0, 1/4, 2/4, 3/4 before each step.
  const want = [0, 0.25, 0.5, 0.75].map((p) => 0.01 * 0.5 * (1 + Math.cos(Math.PI * p)));
  assert.equal(seen.length, 4);
  seen.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12, `step ${i}: ${v} vs ${want[i]}`));
  assert.ok(Math.abs(r.history[1].lr!.heads - 0.05 * 0.5 * (1 + Math.cos(Math.PI * 0.75))) < 1e-12);
  // A wall-clock run says how far it is: here already half way at the first step.
  const half: number[] = [];
  await fit({ ...config, epochs: 1 }, {
    data,
    saveCheckpoints: false,
    progress: (s) => 0.5 + s / 4,
    onProgress: (p) => half.push(p.lr.backbone),
  });
  assert.ok(Math.abs(half[0] - 0.005) < 1e-12);
  assert.ok(half[1] < half[0]);
});
