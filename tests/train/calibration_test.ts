import assert from "node:assert/strict";
import { calibrationError, fitTemperature, withTemperature } from "../../train/calibration.ts";

Deno.test("calibrationError() is 0 for a calibrated model and the confidence gap for an overconfident one", () => {
  // Bin [0.8, 0.867): 5 predictions at 0.8, 4 right -> gap 0.
  const calibrated = calibrationError([0.8, 0.8, 0.8, 0.8, 0.8], [true, true, true, true, false]);
  assert.ok(Math.abs(calibrated.ece) < 1e-12);
  assert.equal(calibrated.bins.length, 15);
  assert.equal(calibrated.bins[12].count, 5);
  // Always 1.0 sure (last bin), right half the time: ECE 0.5.
  const over = calibrationError([1, 1, 1, 1], [true, false, true, false]);
  assert.ok(Math.abs(over.ece - 0.5) < 1e-12);
  assert.equal(over.bins[14].count, 4);
  // Two bins weighted by their share: |1 - 0.3| * 0.5 + |0 - 0.9| * 0.5 = 0.8.
  const two = calibrationError([0.3, 0.9], [true, false]);
  assert.ok(Math.abs(two.ece - 0.8) < 1e-12);
});

Deno.test("calibrationError() refuses mismatched or empty input", () => {
  assert.throws(() => calibrationError([0.5], []), /1 confidences but 0 outcomes/);
  assert.throws(() => calibrationError([], []), /no predictions/);
});

Deno.test("fitTemperature() softens an overconfident model and withTemperature() keeps the argmax", () => {
  // Always 0.99 on the predicted class, right 60% of the time: the fitted temperature must soften (T > 1).
  const probs: number[][] = [], truth: number[] = [];
  for (let i = 0; i < 100; i++) {
    probs.push([0.99, 0.005, 0.005]);
    truth.push(i % 10 < 6 ? 0 : 1 + (i % 2));
  }
  const t = fitTemperature(probs, truth);
  assert.ok(t > 1, `T = ${t}`);
  const soft = withTemperature(probs[0], t);
  // The NLL optimum puts the top class near its accuracy.
  assert.ok(Math.abs(soft[0] - 0.6) < 0.02, `p = ${soft[0]}`);
  assert.equal(soft.indexOf(Math.max(...soft)), 0);
  assert.ok(Math.abs(soft.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.throws(() => fitTemperature([], []), /0 predictions for 0 labels/);
});
