/**
 * `deno task bench:faces [--runs N] [--threads N]`: the ONNX faces pipeline against @vladmandic/face-api
 * (TensorFlow.js, best backend that starts here: wasm, else cpu) on face-api's six demo photos, in one process.
 *
 * Per photo, median wall time of
 * - A: decode (sharp) + detect + landmarks + align every face to 224x224 (face-api: decode + detectAllFaces +
 *   withFaceLandmarks, which computes its aligned rectangles);
 * - B: A + the baseline expression net (face-api: + withFaceExpressions);
 * - A again with the tiny detector on both sides;
 * and their ratios, with the face counts of both sides. Variants run interleaved so machine load hits both alike. Then faces/s of the baseline expression net alone at batch
 * 1 and 16. Timings are wall clock on whatever else the machine is doing; compare ratios, not absolute numbers.
 */
import { parseArgs } from "node:util";
import { createFacePipeline } from "../../src/faces/pipeline.ts";
import { alignedCrop, prepareFaceInput } from "../../src/faces/prepare.ts";
import { toTensor } from "../../model/preprocess.ts";
import { decodeImage } from "../../src/image.ts";
import { baselineModel, classifyBaseline, DEMO_PHOTOS, faceModelDir } from "../faces/models.ts";
import { faceApiDetect, loadFaceApi } from "../faces/faceapi_reference.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "5" }, threads: { type: "string" } },
});
const RUNS = Number(values.runs);
const THREADS = values.threads ? Number(values.threads) : undefined;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Times several variants INTERLEAVED (one run of each in turn, after one warm-up run each), so that the load of
 * a shared machine hits all of them alike; returns each variant's median ms and its last face count.
 */
async function timeInterleaved(
  runs: number,
  fns: (() => Promise<number>)[],
): Promise<{ ms: number; faces: number }[]> {
  const faces: number[] = [];
  for (const fn of fns) faces.push(await fn());
  const times: number[][] = fns.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (const [k, fn] of fns.entries()) {
      const t = performance.now();
      faces[k] = await fn();
      times[k].push(performance.now() - t);
    }
  }
  return times.map((t, k) => ({ ms: median(t), faces: faces[k] }));
}

const pipeline = await createFacePipeline({ modelDir: await faceModelDir(), intraOpNumThreads: THREADS });
const backend = await loadFaceApi();
console.log(
  `faces benchmark: ${navigator.hardwareConcurrency} logical CPUs, onnxruntime cpu (${
    THREADS ?? "default"
  } threads), ` +
    `face-api 1.7.15 on tfjs-${backend}; median of ${RUNS} interleaved runs after a warm-up`,
);
console.log("photo     size        | A: decode+detect+landmarks+align        | B: A + expressions");
console.log("                      | onnx ms  face-api ms  ratio  faces      | onnx ms  face-api ms  ratio");
const ratiosA: number[] = [], ratiosB: number[] = [];
const tinyRows: string[] = [], tinyRatios: number[] = [], tinyOnnx: number[] = [], tinyApi: number[] = [];
const onnxA: number[] = [], apiA: number[] = [], onnxB: number[] = [], apiB: number[] = [];
for (const [i, path] of DEMO_PHOTOS.entries()) {
  const bytes = await Deno.readFile(path);
  const probe = await decodeImage(bytes);
  const [oA, oB, fA, fB, tO, tF] = await timeInterleaved(RUNS, [
    async () => {
      const image = await decodeImage(bytes);
      const faces = await pipeline.detect(image);
      for (const f of faces) alignedCrop(image, f, 224);
      return faces.length;
    },
    async () => {
      const image = await decodeImage(bytes);
      const faces = await pipeline.detect(image);
      for (const f of faces) alignedCrop(image, f, 224);
      await classifyBaseline(image, faces);
      return faces.length;
    },
    async () => (await faceApiDetect(await decodeImage(bytes), { expressions: false })).length,
    async () => (await faceApiDetect(await decodeImage(bytes))).length,
    async () => {
      const image = await decodeImage(bytes);
      const faces = await pipeline.detect(image, { detector: "tiny" });
      for (const f of faces) alignedCrop(image, f, 224);
      return faces.length;
    },
    async () =>
      (await faceApiDetect(await decodeImage(bytes), { expressions: false, detector: "tiny" })).length,
  ]);
  tinyRows.push(
    `sample${i + 1}: onnx ${tO.ms.toFixed(0)} ms, face-api ${tF.ms.toFixed(0)} ms, ${
      (tF.ms / tO.ms).toFixed(1)
    }x, ` +
      `faces ${tO.faces}/${tF.faces}${tO.faces === tF.faces ? " same" : " DIFF"}`,
  );
  tinyRatios.push(tF.ms / tO.ms), tinyOnnx.push(tO.ms), tinyApi.push(tF.ms);
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

console.log("\nA with the tiny detector (--detector tiny; face-api TinyFaceDetectorOptions inputSize 416):");
for (const row of tinyRows) console.log(`  ${row}`);
console.log(
  `  median: onnx ${median(tinyOnnx).toFixed(0)} ms, face-api ${median(tinyApi).toFixed(0)} ms, ` +
    `${median(tinyRatios).toFixed(1)}x\n`,
);

// The baseline expression net alone: real face crops from sample1, repeated to fill the batch.
const image = await decodeImage(await Deno.readFile(DEMO_PHOTOS[0]));
const faces = await pipeline.detect(image);
const expression = (await baselineModel()).session;
const spec = expression.manifest.input;
for (const batch of [1, 16]) {
  const list = Array.from({ length: batch }, (_, i) => faces[i % faces.length]);
  const per = 112 * 112 * 3, tensor = new Float32Array(batch * per);
  list.forEach((f, b) => toTensor(prepareFaceInput(image, f, spec), spec, tensor, b * per));
  const [withCrop, netOnly] = await timeInterleaved(Math.max(10, RUNS), [
    async () => (await classifyBaseline(image, list)).length,
    async () => {
      await expression.run({ [spec.name]: { data: tensor, dims: [batch, 112, 112, 3] } });
      return batch;
    },
  ]);
  console.log(
    `baseline expression net, batch ${batch}: net alone ${netOnly.ms.toFixed(1)} ms = ` +
      `${(batch / netOnly.ms * 1000).toFixed(0)} faces/s; with face-api crops ${
        withCrop.ms.toFixed(1)
      } ms = ` +
      `${(batch / withCrop.ms * 1000).toFixed(0)} faces/s`,
  );
}
await pipeline.release();
