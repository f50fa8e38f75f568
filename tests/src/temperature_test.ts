import assert from "node:assert/strict";
import { servedScores } from "../../src/temperature.ts";
import { softmax } from "../../src/classify.ts";

const close = (a: number[], b: number[], tol = 1e-6) =>
  assert.ok(a.every((v, i) => Math.abs(v - b[i]) < tol), `${a} != ${b}`);
const argmax = (v: number[]) => v.indexOf(Math.max(...v));

Deno.test("servedScores(): softmax(logits / T) for logits, p^(1/T) renormalised for probabilities, same argmax", () => {
  const logits = [2, -1, 0.5, 3, 0, -2, 1];
  for (const t of [0.5, 2, 5.5]) {
    const want = softmax(logits.map((v) => v / t));
    close(servedScores(logits, true, t), want);
    // A probabilities output is softmax(logits): scaling its log by 1/T gives the very same scores.
    close(servedScores(softmax(logits), false, t), want);
    assert.equal(argmax(servedScores(logits, true, t)), argmax(logits));
  }
  assert.ok(servedScores(logits, true, 5.5)[3] < softmax(logits)[3] - 0.2, "T > 1 softens");
  close(servedScores(logits, true), softmax(logits));
  const raw = [0.2, 0.3, 0.1];
  assert.deepEqual(servedScores(raw, false), raw, "no temperature: probabilities as they are");
  close(servedScores([0.5, 0.5, 0], false, 2), [0.5, 0.5, 0], 1e-5); // a zero stays (near) zero
});
