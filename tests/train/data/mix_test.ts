import assert from "node:assert/strict";
import { capPerClass, classCounts, mixDatasets } from "../../../train/data/mix.ts";
import { createRng } from "../../../train/data/rng.ts";
import type { Sample } from "../../../train/data/sample.ts";

function fake(dataset: string, counts: number[]): Sample[] {
  const out: Sample[] = [];
  counts.forEach((n, label) => {
    for (let i = 0; i < n; i++) {
      out.push({
        path: `${dataset}/${label}/${i}.jpg`,
        label,
        dataset,
        split: "train",
        source: `x:${out.length}`,
      });
    }
  });
  return out;
}

Deno.test("capPerClass() undersamples only classes above the cap, seeded and order-preserving", () => {
  const samples = fake("a", [50, 10, 0, 3, 0, 0, 20]);
  const kept = capPerClass(samples, 15, createRng(1));
  assert.deepEqual(classCounts(kept, 7), [15, 10, 0, 3, 0, 0, 15]);
  const again = capPerClass(samples, 15, createRng(1));
  assert.deepEqual(kept.map((s) => s.path), again.map((s) => s.path));
  const other = capPerClass(samples, 15, createRng(2));
  assert.notDeepEqual(kept.map((s) => s.path), other.map((s) => s.path));
  const idx = kept.map((s) => samples.indexOf(s));
  assert.deepEqual(idx, idx.slice().sort((x, y) => x - y));
  assert.equal(capPerClass(samples, null, createRng(1)).length, samples.length);
});

Deno.test("mixDatasets() caps per dataset (Table 3 style) and reports counts before and after", () => {
  const aff = fake("affwild2", [400, 30, 20, 25, 200, 100, 60]);
  const net = fake("affectnet", [5, 5, 5, 5, 5, 5, 5]);
  const { samples, report } = mixDatasets([
    { name: "affwild2", samples: aff, maxPerClass: 50 },
    { name: "affectnet", samples: net },
  ], { seed: 3 });
  assert.deepEqual(report[0].after, [50, 30, 20, 25, 50, 50, 50]);
  assert.deepEqual(report[1].after, report[1].before);
  assert.deepEqual(classCounts(samples, 7), [55, 35, 25, 30, 55, 55, 55]);
  // Adding a third part does not change what the first part keeps.
  const more = mixDatasets([
    { name: "affwild2", samples: aff, maxPerClass: 50 },
    { name: "affectnet", samples: net },
    { name: "expw", samples: fake("expw", [1, 1, 1, 1, 1, 1, 1]) },
  ], { seed: 3 });
  assert.deepEqual(more.samples.slice(0, samples.length).map((s) => s.path), samples.map((s) => s.path));
});
