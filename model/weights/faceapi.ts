/**
 * Reads a TensorFlow.js weight manifest (`<model>-weights_manifest.json` + its `.bin` shards), as shipped in
 * `@vladmandic/face-api/model/`, into named float32/int32 arrays. Quantised entries are dequantised exactly as
 * tfjs-core's `io.decodeWeights` does (`value = q * scale + min`, computed in float64 and stored as float32;
 * int32 entries are rounded), so the ONNX ports start from the very numbers face-api itself runs with.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "../manifest.ts";

/** One decoded weight tensor. `values` is Float32Array for float32 entries, Int32Array for int32 ones. */
export interface WeightTensor {
  name: string;
  shape: number[];
  dtype: "float32" | "int32";
  values: Float32Array | Int32Array;
}

/** A decoded manifest: tensors by name, plus what is needed to cite the source in a model manifest. */
export interface FaceApiWeights {
  /** e.g. "ssd_mobilenetv1_model". */
  model: string;
  tensors: Map<string, WeightTensor>;
  /** sha256 of the concatenated `.bin` shards, in manifest order. */
  weightsSha256: string;
  /** The shard file names, in manifest order. */
  files: string[];
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}
interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

/** The installed face-api package's `model/` folder (resolved from this file, so it works from any cwd). */
export function faceApiModelDir(): string {
  return fileURLToPath(new URL("../../node_modules/@vladmandic/face-api/model/", import.meta.url));
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

function decodeEntry(entry: ManifestEntry, bytes: Uint8Array): WeightTensor {
  const count = entry.shape.reduce((a, b) => a * b, 1);
  const { name, shape } = entry;
  if (entry.dtype !== "float32" && entry.dtype !== "int32") {
    throw new Error(`Cannot decode weight "${name}": unsupported dtype "${entry.dtype}"`);
  }
  const dtype = entry.dtype;
  const q = entry.quantization;
  const copy = bytes.slice().buffer; // aligned copy for typed-array views
  if (!q) {
    const values = dtype === "float32" ? new Float32Array(copy, 0, count) : new Int32Array(copy, 0, count);
    return { name, shape, dtype, values };
  }
  if (q.dtype === "float16") {
    throw new Error(`Cannot decode weight "${name}": float16 quantisation is not used by face-api`);
  }
  if ((q.dtype !== "uint8" && q.dtype !== "uint16") || q.scale === undefined || q.min === undefined) {
    throw new Error(`Cannot decode weight "${name}": unsupported quantisation ${JSON.stringify(q)}`);
  }
  const raw = q.dtype === "uint8" ? new Uint8Array(copy, 0, count) : new Uint16Array(copy, 0, count);
  const { scale, min } = q;
  // Plain loops: TypedArray.from with a map callback is ~30x slower in V8 for the SSD's 5.5M values.
  if (dtype === "float32") {
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = raw[i] * scale + min;
    return { name, shape, dtype, values };
  }
  const values = new Int32Array(count);
  for (let i = 0; i < count; i++) values[i] = Math.round(raw[i] * scale + min);
  return { name, shape, dtype, values };
}

/**
 * Loads `<dir>/<model>-weights_manifest.json` and its shards. Throws naming the file when the shards are
 * shorter than the manifest says, or an entry's dtype/quantisation is not one tfjs writes for these models.
 */
export async function readFaceApiWeights(
  model: string,
  { dir = faceApiModelDir() }: { dir?: string } = {},
): Promise<FaceApiWeights> {
  const manifestPath = join(dir, `${model}-weights_manifest.json`);
  let groups: ManifestGroup[];
  try {
    groups = JSON.parse(await Deno.readTextFile(manifestPath));
  } catch (e) {
    throw new Error(`Cannot read weight manifest "${manifestPath}": ${(e as Error).message}`);
  }
  const tensors = new Map<string, WeightTensor>();
  const files: string[] = [];
  const shards: Uint8Array[] = [];
  for (const group of groups) {
    const parts = await Promise.all(group.paths.map((p) => Deno.readFile(join(dir, p))));
    files.push(...group.paths);
    shards.push(...parts);
    // tfjs concatenates a group's shards and reads its entries back to back.
    const buffer = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((offset, p) => (buffer.set(p, offset), offset + p.length), 0);
    let offset = 0;
    for (const entry of group.weights) {
      const count = entry.shape.reduce((a, b) => a * b, 1);
      const size = count * BYTES[entry.quantization?.dtype ?? entry.dtype];
      if (!size && count) throw new Error(`Cannot decode weight "${entry.name}": unknown dtype`);
      if (offset + size > buffer.length) {
        throw new Error(
          `Cannot read weights "${model}": entry "${entry.name}" needs bytes ${offset}..${offset + size}, ` +
            `shards hold ${buffer.length}`,
        );
      }
      tensors.set(entry.name, decodeEntry(entry, buffer.subarray(offset, offset + size)));
      offset += size;
    }
  }
  const all = new Uint8Array(shards.reduce((n, p) => n + p.length, 0));
  shards.reduce((offset, p) => (all.set(p, offset), offset + p.length), 0);
  return { model, tensors, weightsSha256: await sha256Hex(all), files };
}

/** The float32 values of `name`, checking its shape; throws naming the weight when absent or mis-shaped. */
export function getWeight(weights: FaceApiWeights, name: string, shape?: readonly number[]): Float32Array {
  const t = weights.tensors.get(name);
  if (!t) throw new Error(`Cannot find weight "${name}" in "${weights.model}"`);
  if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
    throw new Error(
      `Cannot use weight "${name}" of "${weights.model}": shape is [${t.shape}], expected [${shape}]`,
    );
  }
  if (!(t.values instanceof Float32Array)) {
    throw new Error(
      `Cannot use weight "${name}" of "${weights.model}": dtype is ${t.dtype}, expected float32`,
    );
  }
  return t.values;
}
