/**
 * Runs @vladmandic/face-api itself (TensorFlow.js, `wasm` or `cpu` backend) as the reference for the ONNX face
 * pipeline: SSD MobileNetV1 (minConfidence 0.5) + 68 landmarks + expressions, on a decoded RGB image so that both
 * sides see exactly the same pixels. Test and benchmark only; serving never imports TensorFlow.js.
 */
import faceapi from "@vladmandic/face-api/dist/face-api.node-wasm.js";
import { fileURLToPath } from "node:url";
import type { RawImage } from "../../src/image.ts";
import type { DetectorName } from "../../src/faces/detectors.ts";

// face-api's node-wasm build (CommonJS) requires @tensorflow/tfjs and its wasm backend; the ESM builds cannot load
// under Deno (extensionless imports in tfjs's ESM entry; a missing util.TextEncoder in the bundled copy).
// deno-lint-ignore no-explicit-any
const tf = (faceapi as any).tf;
const MODEL_DIR = fileURLToPath(new URL("../../node_modules/@vladmandic/face-api/model/", import.meta.url));

/** One face as face-api reports it, in original pixel coordinates. */
export interface ReferenceFace {
  box: { x: number; y: number; width: number; height: number };
  score: number;
  landmarks68: [number, number][];
  /** face-api's seven probabilities by its own label names (neutral, happy, sad, ...). */
  expressions: Record<string, number>;
}

interface WeightsManifest {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string }[];
}

async function loadWeights(name: string): Promise<Record<string, unknown>> {
  const manifest = JSON.parse(
    await Deno.readTextFile(`${MODEL_DIR}${name}-weights_manifest.json`),
  ) as WeightsManifest[];
  const maps: Record<string, unknown> = {};
  for (const group of manifest) {
    const parts = await Promise.all(group.paths.map((p) => Deno.readFile(`${MODEL_DIR}${p}`)));
    const total = parts.reduce((n, p) => n + p.length, 0);
    const buf = new Uint8Array(total);
    let o = 0;
    for (const p of parts) buf.set(p, (o += p.length) - p.length);
    Object.assign(maps, tf.io.decodeWeights(buf.buffer, group.weights));
  }
  return maps;
}

let ready: Promise<string> | undefined;

/**
 * Loads the three nets once on the best backend that starts (`wasm`, else `cpu`) and returns its name.
 * `FACEAPI_BACKEND=cpu` forces the pure-JS backend.
 */
export function loadFaceApi(backend = Deno.env.get("FACEAPI_BACKEND") ?? "wasm"): Promise<string> {
  ready ??= (async () => {
    tf.env().set("PROD", true);
    if (!(await tf.setBackend(backend).catch(() => false))) await tf.setBackend("cpu");
    await tf.ready();
    // deno-lint-ignore no-explicit-any
    const nets = (faceapi as any).nets;
    nets.ssdMobilenetv1.loadFromWeightMap(await loadWeights("ssd_mobilenetv1_model"));
    nets.faceLandmark68Net.loadFromWeightMap(await loadWeights("face_landmark_68_model"));
    nets.faceExpressionNet.loadFromWeightMap(await loadWeights("face_expression_model"));
    nets.tinyFaceDetector.loadFromWeightMap(await loadWeights("tiny_face_detector_model"));
    return tf.getBackend();
  })();
  return ready;
}

/**
 * Detects faces with face-api: `detectAllFaces(image, SsdMobilenetv1Options({minConfidence}))`, then
 * `.withFaceLandmarks()` and `.withFaceExpressions()` unless turned off (missing parts come back empty).
 */
export async function faceApiDetect(
  image: RawImage,
  { minConfidence = 0.5, landmarks = true, expressions = true, detector = "ssd" }: {
    minConfidence?: number;
    /** `tiny`: TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: minConfidence }). */
    detector?: DetectorName;
    landmarks?: boolean;
    expressions?: boolean;
  } = {},
): Promise<ReferenceFace[]> {
  await loadFaceApi();
  const input = tf.tensor3d(image.data, [image.height, image.width, 3], "int32");
  try {
    // deno-lint-ignore no-explicit-any
    const api = faceapi as any;
    const options = detector === "tiny"
      ? new api.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: minConfidence })
      : new api.SsdMobilenetv1Options({ minConfidence });
    if (!landmarks) {
      // deno-lint-ignore no-explicit-any
      const dets = await api.detectAllFaces(input, options) as any[];
      return dets.map((d) => ({ box: plainBox(d.box), score: d.score, landmarks68: [], expressions: {} }));
    }
    const withLandmarks = api.detectAllFaces(input, options).withFaceLandmarks();
    const task = expressions ? withLandmarks.withFaceExpressions() : withLandmarks;
    // deno-lint-ignore no-explicit-any
    const results = await task as any[];
    return results.map((r) => ({
      box: plainBox(r.detection.box),
      score: r.detection.score,
      // deno-lint-ignore no-explicit-any
      landmarks68: r.landmarks.positions.map((p: any) => [p.x, p.y] as [number, number]),
      expressions: !expressions ? {} : Object.fromEntries(
        ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"].map((
          k,
        ) => [k, r.expressions[k]]),
      ),
    }));
  } finally {
    input.dispose();
  }
}

function plainBox(b: { x: number; y: number; width: number; height: number }) {
  return { x: b.x, y: b.y, width: b.width, height: b.height };
}

/** face-api's own TensorFlow.js instance (for checking single ops such as its resize against ours). */
// deno-lint-ignore no-explicit-any
export function faceApiTf(): any {
  return tf;
}

/** face-api's label names -> canonical names (model/spec.ts). */
export const FACEAPI_TO_CANONICAL: Record<string, string> = {
  neutral: "neutral",
  happy: "happiness",
  sad: "sadness",
  angry: "anger",
  fearful: "fear",
  disgusted: "disgust",
  surprised: "surprise",
};
