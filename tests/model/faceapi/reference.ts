/**
 * @vladmandic/face-api itself, loaded as the reference the ONNX ports are compared with (tests only; serving
 * never imports TensorFlow.js). It uses `dist/face-api.node-wasm.js`, which
 * `require`s the installed `@tensorflow/tfjs` (CJS) and `@tensorflow/tfjs-backend-wasm`, so both the `wasm`
 * backend (about 15x faster here) and the pure-JS `cpu` backend work offline, on the same tfjs the project pins.
 * (The no-bundle ESM build cannot resolve tfjs-backend-wasm's extensionless ESM imports under Deno; the bundled
 * `face-api.esm.js` carries its own tfjs copy and threw `this.util.TextEncoder is not a constructor` in one of
 * our trials, depending on call order.) Weights load through face-api's own `loadFromDisk`, i.e. tfjs's decoder, not ours.
 */
import faceapiModule from "@vladmandic/face-api/dist/face-api.node-wasm.js";
import sharp from "sharp";
import { fileURLToPath } from "node:url";
import { faceApiModelDir } from "../../../model/weights/faceapi.ts";

// deno-lint-ignore no-explicit-any
export const faceapi = faceapiModule as any;
// deno-lint-ignore no-explicit-any
export const tf = faceapi.tf as any;

/** The demo photos shipped with face-api (sample1.jpg .. sample6.jpg). */
export function samplePath(n: number): string {
  return fileURLToPath(
    new URL(`../../../node_modules/@vladmandic/face-api/demo/sample${n}.jpg`, import.meta.url),
  );
}

/** Decodes a demo photo to interleaved RGB uint8 with sharp (no EXIF rotation needed for these files). */
export async function decodeSample(n: number): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(samplePath(n)).removeAlpha().toColourspace("srgb").raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}

let loaded: Promise<string> | undefined;

/**
 * Selects the backend (`FACEAPI_BACKEND`, default `wasm`), loads SSD, landmark, expression and tiny-detector
 * weights from the installed package with face-api's `loadFromDisk`, and returns the backend name. Once per process.
 */
export function loadReference(backend = Deno.env.get("FACEAPI_BACKEND") ?? "wasm"): Promise<string> {
  loaded ??= (async () => {
    tf.env().set("PROD", true);
    await tf.setBackend(backend);
    await tf.ready();
    const dir = faceApiModelDir();
    await Promise.all([
      faceapi.nets.ssdMobilenetv1.loadFromDisk(dir),
      faceapi.nets.faceLandmark68Net.loadFromDisk(dir),
      faceapi.nets.faceExpressionNet.loadFromDisk(dir),
      faceapi.nets.tinyFaceDetector.loadFromDisk(dir),
    ]);
    return tf.getBackend();
  })();
  return loaded;
}

/**
 * face-api's own net input for `images` (HWC float tensors or arrays of them): `NetInput.toBatchTensor(size,
 * center)`, i.e. padToSquare + resizeBilinear(alignCorners=false, halfPixelCenters=false), as NHWC float32 data.
 */
export async function batchTensorData(
  // deno-lint-ignore no-explicit-any
  images: any[],
  size: number,
  center: boolean,
): Promise<Float32Array> {
  const input = await faceapi.toNetInput(images);
  const batch = input.toBatchTensor(size, center);
  const data = await batch.data() as Float32Array;
  batch.dispose();
  return data;
}

/** Largest absolute difference of two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`Cannot compare: lengths ${a.length} and ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}
