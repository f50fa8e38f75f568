/**
 * The photo path stage by stage on face-api's six demo photos: decode (sharp, full resolution), the detector
 * input (pad to square + resize to 512), the SSD run, its NMS and box mapping, landmarks (crops + one batched
 * run), 224x224 alignment and the baseline expression net (crop + registry batcher), BlazeFace alone and the
 * default detector (`ssd-blazeface`: both nets at once, merged; the total counts it, not the SSD laps), median ms per photo of
 * `--runs` (default 5) after a warm-up. Then what decoding with libvips' JPEG shrink-on-load would change:
 * the decode time at the largest shrink that keeps the longer side >= 512 and the SSD's boxes from those pixels
 * against the full-resolution ones (face count and worst IoU). One table, one JSON line per photo.
 * `deno run -A tests/bench/stages.ts [--runs N]`.
 */
import sharp from "sharp";
import { parseArgs } from "node:util";
import { decodeImage, type RawImage } from "../../src/image.ts";
import { detectorInput } from "../../src/faces/faceapi_crop.ts";
import { nonMaxSuppression } from "../../src/faces/nms.ts";
import { addLandmarks } from "../../src/faces/landmarks.ts";
import { alignedCrop } from "../../src/faces/prepare.ts";
import { runSsd } from "../../src/faces/ssd.ts";
import { clipBox } from "../../src/box.ts";
import type { Face } from "../../src/faces/face.ts";
import { classifyBaseline, DEMO_PHOTOS, sharedPipeline } from "../faces/models.ts";

const { values } = parseArgs({ args: Deno.args, options: { runs: { type: "string", default: "5" } } });
const RUNS = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p = await sharedPipeline();
const ssd = p.detector, spec = ssd.manifest.input;

/** One pass over a photo, stage by stage; returns ms per stage. */
async function stages(bytes: Uint8Array): Promise<Record<string, number>> {
  const ms: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    ms[name] = now - t;
    t = now;
  };
  const image = await decodeImage(bytes);
  lap("decode");
  const input = detectorInput(image, spec);
  lap("detInput");
  const out = await ssd.run({ [spec.name]: input });
  lap("ssdRun");
  nonMaxSuppression(out.boxes.data, out.scores.data, {
    maxOutput: 100,
    iouThreshold: 0.5,
    scoreThreshold: 0.5,
  });
  lap("nms");
  // BlazeFace alone (its libvips shrink to 128 px, run, decode), then the default detector as it runs: the SSD
  // and BlazeFace at once, merged. The total counts the default detector, not the SSD stages above it.
  await p.detect(image, { detector: "blazeface", landmarks: false });
  lap("blazeFace");
  await p.detect(image, { landmarks: false });
  lap("default");
  // The boxes the pipeline keeps (the same NMS again, with face-api's mapping) are not part of the timing.
  const raw = await runSsd(ssd, image, 0.5);
  t = performance.now();
  const faces: Face[] = raw.map(({ box, score }) => ({
    box: clipBox(box, image.width, image.height),
    score,
  }));
  await addLandmarks(p.landmarker, image, raw, faces);
  lap("landmarks");
  for (const f of faces) alignedCrop(image, f, 224);
  lap("align");
  await classifyBaseline(image, faces);
  lap("classify");
  return ms;
}

function iou(a: Face["box"], b: Face["box"]) {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return (w * h) / (a.width * a.height + b.width * b.height - w * h);
}

/** libvips' shrink-on-load: the JPEG decoded at 1/2, 1/4 or 1/8 in the DCT, the largest keeping >= 512 px. */
async function shrunkDecode(
  bytes: Uint8Array,
  full: RawImage,
): Promise<{ ms: number; image: RawImage; shrink: number }> {
  const longer = Math.max(full.width, full.height);
  const shrink = [8, 4, 2, 1].find((s) => longer / s >= spec.size.width) ?? 1;
  const t = performance.now();
  const { data, info } = await sharp(bytes, { pages: 1 }).rotate().removeAlpha().toColourspace("srgb")
    .resize({ width: Math.round(full.width / shrink), fastShrinkOnLoad: true, kernel: "nearest" })
    .raw().toBuffer({ resolveWithObject: true });
  return {
    ms: performance.now() - t,
    image: { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 },
    shrink,
  };
}

const names = [
  "decode",
  "detInput",
  "ssdRun",
  "nms",
  "blazeFace",
  "default",
  "landmarks",
  "align",
  "classify",
];
/** The stages of the default photo path (`ssd-blazeface`): the SSD-only and BlazeFace-only laps are parts of `default`. */
const photoPath = ["decode", "default", "landmarks", "align", "classify"];
console.log(`stages: median of ${RUNS} runs after a warm-up, ms per photo (shared, loaded machine)`);
console.log(
  `photo  size       faces | ${
    names.map((n) => n.padStart(9)).join(" ")
  } |     total | shrink decodeMs faces minIoU`,
);
const totals: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (const [i, path] of DEMO_PHOTOS.entries()) {
  const bytes = await Deno.readFile(path);
  await stages(bytes);
  const runs: Record<string, number>[] = [];
  for (let r = 0; r < RUNS; r++) runs.push(await stages(bytes));
  const med = Object.fromEntries(names.map((n) => [n, median(runs.map((x) => x[n]))]));
  names.forEach((n) => totals[n].push(med[n]));
  const full = await decodeImage(bytes);
  const fullFaces = await runSsd(ssd, full, 0.5);
  const shr = [];
  for (let r = 0; r < RUNS; r++) shr.push(await shrunkDecode(bytes, full));
  const { image: small, shrink } = shr[0];
  const sx = full.width / small.width, sy = full.height / small.height;
  const smallFaces = (await runSsd(ssd, small, 0.5)).map((d) => ({
    ...d,
    box: { x: d.box.x * sx, y: d.box.y * sy, width: d.box.width * sx, height: d.box.height * sy },
  }));
  const minIoU = Math.min(...fullFaces.map((f) => Math.max(0, ...smallFaces.map((g) => iou(f.box, g.box)))));
  const total = photoPath.reduce((s, n) => s + med[n], 0);
  console.log(
    `${`sample${i + 1}`.padEnd(6)} ${`${full.width}x${full.height}`.padEnd(10)} ${
      String(fullFaces.length).padStart(5)
    } | ` +
      `${names.map((n) => med[n].toFixed(1).padStart(9)).join(" ")} | ${total.toFixed(1).padStart(9)} | ` +
      `${`1/${shrink}`.padStart(6)} ${median(shr.map((x) => x.ms)).toFixed(1).padStart(8)} ${
        String(smallFaces.length).padStart(5)
      } ${minIoU.toFixed(3)}`,
  );
}
const sum = names.map((n) => median(totals[n]));
console.log(
  `median                   | ${sum.map((v) => v.toFixed(1).padStart(9)).join(" ")} | ${
    photoPath.reduce((a, n) => a + sum[names.indexOf(n)], 0).toFixed(1).padStart(9)
  } |`,
);
