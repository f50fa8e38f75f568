/**
 * `deno task bench:faces [--runs N] [--faceapi-runs N]`: the ONNX faces pipeline against @vladmandic/face-api
 * (TensorFlow.js, best backend that starts here: wasm, else cpu) on face-api's six demo photos, in one process.
 *
 * Per photo, median wall time of
 * - A: decode (sharp) + detect + landmarks + align every face to 224x224 (face-api: decode + detectAllFaces +
 *   withFaceLandmarks, which computes its aligned rectangles);
 * - B: A + the baseline expression net (face-api: + withFaceExpressions);
 * and their ratios, with the face counts of both sides. Then faces/s of the baseline expression net alone at batch
 * 1 and 16. Timings are wall clock on whatever else the machine is doing; compare ratios, not absolute numbers.
 */
import { parseArgs } from "node:util";
import { alignedCrop, createFacePipeline } from "../../src/faces.ts";
import { decodeImage } from "../../src/image.ts";
import { DEMO_PHOTOS, faceModelDir } from "../faces/models.ts";
import { faceApiDetect, loadFaceApi } from "../faces/faceapi_reference.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "7" }, "faceapi-runs": { type: "string", default: "3" } },
});
const RUNS = Number(values.runs), FACEAPI_RUNS = Number(values["faceapi-runs"]);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timeIt(runs: number, fn: () => Promise<number>): Promise<{ ms: number; faces: number }> {
  let faces = await fn(); // warm-up (first-run allocations, kernel selection), not counted
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    faces = await fn();
    times.push(performance.now() - t);
  }
  return { ms: median(times), faces };
}

const pipeline = await createFacePipeline({ modelDir: await faceModelDir() });
const backend = await loadFaceApi();
console.log(
  `faces benchmark: ${navigator.hardwareConcurrency} logical CPUs, onnxruntime cpu (default threads), ` +
    `face-api 1.7.15 on tfjs-${backend}; median of ${RUNS} (ONNX) / ${FACEAPI_RUNS} (face-api) runs after a warm-up`,
);
console.log("photo     size        | A: decode+detect+landmarks+align        | B: A + expressions");
console.log("                      | onnx ms  face-api ms  ratio  faces      | onnx ms  face-api ms  ratio");
const ratiosA: number[] = [], ratiosB: number[] = [];
const onnxA: number[] = [], apiA: number[] = [], onnxB: number[] = [], apiB: number[] = [];
for (const [i, path] of DEMO_PHOTOS.entries()) {
  const bytes = await Deno.readFile(path);
  const probe = await decodeImage(bytes);
  const oA = await timeIt(RUNS, async () => {
    const image = await decodeImage(bytes);
    const faces = await pipeline.detect(image);
    for (const f of faces) alignedCrop(image, f, 224);
    return faces.length;
  });
  const oB = await timeIt(RUNS, async () => {
    const image = await decodeImage(bytes);
    const faces = await pipeline.detect(image);
    for (const f of faces) alignedCrop(image, f, 224);
    await pipeline.classifyBaseline(image, faces);
    return faces.length;
  });
  const fA = await timeIt(FACEAPI_RUNS, async () => {
    return (await faceApiDetect(await decodeImage(bytes), { expressions: false })).length;
  });
  const fB = await timeIt(FACEAPI_RUNS, async () => (await faceApiDetect(await decodeImage(bytes))).length);
  ratiosA.push(fA.ms / oA.ms), ratiosB.push(fB.ms / oB.ms);
  onnxA.push(oA.ms), apiA.push(fA.ms), onnxB.push(oB.ms), apiB.push(fB.ms);
  console.log(
    `sample${i + 1}  ${`${probe.width}x${probe.height}`.padEnd(10)}  | ${oA.ms.toFixed(0).padStart(7)}  ` +
      `${fA.ms.toFixed(0).padStart(11)}  ${
        (fA.ms / oA.ms).toFixed(1).padStart(5)
      }x  ${oA.faces}/${fA.faces}` +
      `${oA.faces === fA.faces ? " same" : " DIFF"}  | ${oB.ms.toFixed(0).padStart(7)}  ${
        fB.ms.toFixed(0).padStart(11)
      }  ` +
      `${(fB.ms / oB.ms).toFixed(1).padStart(5)}x`,
  );
}
console.log(
  `median    ${"".padEnd(10)}  | ${median(onnxA).toFixed(0).padStart(7)}  ${
    median(apiA).toFixed(0).padStart(11)
  }  ` +
    `${median(ratiosA).toFixed(1).padStart(5)}x             | ${median(onnxB).toFixed(0).padStart(7)}  ` +
    `${median(apiB).toFixed(0).padStart(11)}  ${median(ratiosB).toFixed(1).padStart(5)}x`,
);

// The baseline expression net alone: real face crops from sample1, repeated to fill the batch.
const image = await decodeImage(await Deno.readFile(DEMO_PHOTOS[0]));
const faces = await pipeline.detect(image);
for (const batch of [1, 16]) {
  const list = Array.from({ length: batch }, (_, i) => faces[i % faces.length]);
  const { ms } = await timeIt(
    Math.max(5, RUNS),
    async () => (await pipeline.classifyBaseline(image, list)).length,
  );
  console.log(
    `baseline expression net (incl. crop): batch ${batch}: ${ms.toFixed(1)} ms, ${
      (batch / ms * 1000).toFixed(0)
    } faces/s`,
  );
}
await pipeline.release();
