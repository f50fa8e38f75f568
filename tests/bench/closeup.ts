/**
 * `deno task bench:closeup [--detector NAME ...] [--runs N] [--sets false] [--write DIR]`: the faces-found rate of each face detector on
 * the generated close-up sets (tests/faces/closeup.ts: the 22 demo faces cropped tight, grayscale, rotated,
 * downscaled), with default options (minConfidence 0.5), plus the demo photos' face counts as a check that
 * nothing else moved. Then the detection latency (decode excluded, landmarks included, median of `--runs`
 * interleaved runs) of each detector against `ssd` on the 1920-px demo photos, on a 1920-px frame without a face
 * (every pyramid pass runs) and on a 1920-px close-up. `--write DIR` also saves the generated JPEGs to look at
 * (never commit them). Timings are wall clock on whatever else the machine runs: compare the ratios.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createFacePipeline } from "../../src/faces/pipeline.ts";
import { DETECTOR_NAMES, type DetectorName } from "../../src/faces/detectors.ts";
import { decodeImage } from "../../src/image.ts";
import { closeUpSets, demoFaces, warpCrop } from "../faces/closeup.ts";
import { DEMO_PHOTOS, faceModelDir } from "../faces/models.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    detector: { type: "string", multiple: true },
    write: { type: "string" },
    runs: { type: "string", default: "5" },
    sets: { type: "string", default: "true" },
  },
});
const detectors = (values.detector?.length ? values.detector : DETECTOR_NAMES) as DetectorName[];
for (const d of detectors) {
  if (!(DETECTOR_NAMES as string[]).includes(d)) {
    console.error(`Cannot parse --detector: "${d}" is not ${DETECTOR_NAMES.join(" or ")}`);
    Deno.exit(2);
  }
}
const pipeline = await createFacePipeline({ modelDir: await faceModelDir() });
// `--sets false`: only the latency part.
const sets = values.sets === "false" ? [] : await closeUpSets(pipeline);
if (values.write) {
  await Deno.mkdir(values.write, { recursive: true });
  for (const c of sets) await Deno.writeFile(join(values.write, `${c.set} ${c.name}.jpg`), c.jpeg);
}
const names = [...new Set(sets.map((c) => c.set))];
console.log(
  `close-up sets: ${names.map((n) => `${n} ${sets.filter((c) => c.set === n).length}`).join(", ")}`,
);
console.log(`detector   ${names.map((n) => n.padStart(8)).join("")}     all  demo faces  ms/close-up`);
for (const detector of sets.length ? detectors : []) {
  const found = new Map<string, number>();
  const missed: string[] = [];
  const t0 = performance.now();
  for (const c of sets) {
    const faces = await pipeline.detect(await decodeImage(c.jpeg), { detector, landmarks: false });
    if (faces.length) found.set(c.set, (found.get(c.set) ?? 0) + 1);
    else missed.push(`${c.set} ${c.name}`);
  }
  const ms = (performance.now() - t0) / sets.length;
  const counts = [];
  for (const path of DEMO_PHOTOS) {
    counts.push((await pipeline.detect(await decodeImage(await Deno.readFile(path)), { detector })).length);
  }
  const rate = (n: number, of: number) => `${(100 * n / of).toFixed(1)}%`;
  console.log(
    `${detector.padEnd(10)} ${
      names.map((n) => rate(found.get(n) ?? 0, sets.filter((c) => c.set === n).length).padStart(8)).join("")
    }` +
      `  ${rate(sets.length - missed.length, sets.length).padStart(6)}  ${counts.join("+")}=${
        counts.reduce((a, b) => a + b, 0)
      }` +
      `  ${ms.toFixed(0).padStart(6)}`,
  );
  if (missed.length && missed.length <= 20) console.log(`  missed: ${missed.join("; ")}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const demo = await Promise.all(DEMO_PHOTOS.map(async (p) => decodeImage(await Deno.readFile(p))));
const blank = {
  data: new Uint8Array(1920 * 1280 * 3).fill(120),
  width: 1920,
  height: 1280,
  channels: 3 as const,
};
const { image: photo, boxes } = (await demoFaces(pipeline))[0];
const b = boxes[0];
const side = 1.2 * Math.max(b.width, b.height);
const closeUp = warpCrop(photo, {
  cx: b.x + b.width / 2,
  cy: b.y + b.height / 2,
  side,
  out: 1920,
  gray: true,
});
const cases = [["demo photos (median of 6)", demo], ["1920x1280 no face", [blank]], [
  "1920x1920 close-up",
  [closeUp],
]] as const;
const timed = [...new Set<DetectorName>(["ssd", ...detectors])];
console.log(`\ndetection latency, ms (median of ${values.runs} interleaved runs; ratio to ssd)`);
console.log(`case                         ${timed.map((d) => d.padStart(16)).join("")}`);
for (const [label, images] of cases) {
  const ms = timed.map(() => [] as number[]);
  for (const image of images) {
    const runs = timed.map(() => [] as number[]);
    for (let r = 0; r <= Number(values.runs); r++) {
      for (const [k, detector] of timed.entries()) {
        const t = performance.now();
        await pipeline.detect(image, { detector });
        if (r) runs[k].push(performance.now() - t); // run 0 warms up
      }
    }
    runs.forEach((x, k) => ms[k].push(median(x)));
  }
  const m = ms.map(median);
  console.log(
    `${label.padEnd(28)} ${
      m.map((v) => `${v.toFixed(0)} (${(v / m[0]).toFixed(2)}x)`.padStart(16)).join("")
    }`,
  );
}
await pipeline.release();
