/**
 * One-off timings of the data side at real dataset sizes, on generated annotation text (no images):
 * parse an AffectNet-size training.csv, cap it per class, draw one imbalanced-sampler epoch.
 *
 *   deno run -A tests/train/data/bench.ts
 */
import { readAffectNet } from "../../../train/data/affectnet.ts";
import { createSampler } from "../../../train/data/sampler.ts";
import { mixDatasets } from "../../../train/data/mix.ts";
const dir = await Deno.makeTempDir();
await Deno.mkdir(`${dir}/Manually_Annotated_file_lists`);
const lm = Array.from({ length: 136 }, (_, i) => (i * 1.5).toFixed(2)).join(";");
const rows = [
  "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal",
];
for (let i = 0; i < 287651; i++) rows.push(`${i % 1000}/${i}.jpg,10,10,200,200,${lm},${i % 11},0.1,0.2`);
await Deno.writeTextFile(`${dir}/Manually_Annotated_file_lists/training.csv`, rows.join("\n") + "\n");
let t = performance.now();
const r = await readAffectNet(dir, { checkImages: false });
console.log(
  `AffectNet-size csv (287,651 rows): ${(performance.now() - t).toFixed(0)} ms, kept ${r.samples.length}`,
);
t = performance.now();
const mixed = mixDatasets([{ name: "a", samples: r.samples, maxPerClass: 20000 }], { seed: 1 });
console.log(`mix cap 20k: ${(performance.now() - t).toFixed(0)} ms -> ${mixed.samples.length}`);
const labels = Int32Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 7);
t = performance.now();
createSampler(labels, { seed: 1 }).nextEpoch();
console.log(`imbalanced sampler, 1M draws: ${(performance.now() - t).toFixed(0)} ms`);
await Deno.remove(dir, { recursive: true });
