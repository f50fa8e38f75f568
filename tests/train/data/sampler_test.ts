import assert from "node:assert/strict";
import { createSampler } from "../../../train/data/sampler.ts";

// Class sizes spanning 3 orders of magnitude, like Aff-Wild2 (neutral and happiness dominate, fear is rare).
const SIZES = [3000, 200, 60, 30, 1500, 800, 400];
const LABELS = SIZES.flatMap((n, c) => new Array(n).fill(c));

Deno.test("createSampler('imbalanced') draws every class with frequency ~1/K, with replacement", () => {
  const s = createSampler(LABELS, { mode: "imbalanced", seed: 5, numSamples: 70000 });
  const idx = s.nextEpoch();
  assert.equal(idx.length, 70000);
  const freq = new Array(7).fill(0);
  for (const i of idx) freq[LABELS[i]]++;
  // Binomial sd at p=1/7, n=70000 is ~93 draws (0.13%); 1% is > 7 sd.
  for (const f of freq) assert.ok(Math.abs(f / 70000 - 1 / 7) < 0.01, `class frequencies ${freq}`);
  // With replacement: the 30 fear samples are drawn ~333 times each.
  const fear = new Map<number, number>();
  for (const i of idx) if (LABELS[i] === 3) fear.set(i, (fear.get(i) ?? 0) + 1);
  assert.equal(fear.size, 30);
  for (const n of fear.values()) assert.ok(n > 200 && n < 480, `fear sample drawn ${n} times`);
});

Deno.test("createSampler('uniform') visits each sample once per pass", () => {
  const s = createSampler(LABELS, { mode: "uniform", seed: 1 });
  const idx = Array.from(s.nextEpoch());
  assert.deepEqual(idx.slice().sort((a, b) => a - b), LABELS.map((_, i) => i));
  assert.notDeepEqual(idx.slice(0, 50), LABELS.map((_, i) => i).slice(0, 50));
});

Deno.test("createSampler() resumes the same epoch sequence from its saved state", () => {
  const a = createSampler(LABELS, { seed: 9, numSamples: 500 });
  a.nextEpoch();
  const saved = JSON.parse(JSON.stringify(a.state()));
  const second = a.nextEpoch();
  const b = createSampler(LABELS, { seed: 123, numSamples: 500, state: saved });
  assert.deepEqual(b.nextEpoch(), second);
  assert.equal(b.state().epoch, 2);
  assert.throws(() => createSampler(LABELS, { mode: "uniform", state: saved }), /saved mode is "imbalanced"/);
});
