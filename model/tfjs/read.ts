/**
 * Reads a TensorFlow.js graph model (`model.json` + weight shards, the format `tensorflowjs_converter` writes):
 * its node list and every weight as float32 or int32, decoding the stored dtypes (float32, int32, and the
 * converter's `--quantize_float16` / `--quantize_uint8` / `--quantize_uint16` shards). Nothing is executed.
 */
import { dirname, join } from "node:path";
import { halfToFloat } from "../weights/half.ts";

/** One attribute as model.json stores it (a protobuf AttrValue in JSON form). */
export interface TfjsAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { s?: string[]; i?: (string | number)[]; f?: number[] };
  shape?: { dim?: { size: string | number }[] };
}

/** One node of the graph. */
export interface TfjsNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfjsAttr>;
}

/** One weight entry of `weightsManifest[].weights`. */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: "float32" | "int32" | "bool" | "string" | string;
  quantization?: { dtype: "float16" | "uint8" | "uint16"; scale?: number; min?: number };
}

/** The parts of model.json the converter reads. */
export interface TfjsModelJson {
  format?: string;
  modelTopology: { node: TfjsNode[]; versions?: unknown };
  weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[];
}

/** A decoded weight: float32 for float tensors, int32 for index/shape tensors. */
export interface TfjsWeight {
  shape: number[];
  dtype: "float32" | "int32";
  values: Float32Array | Int32Array;
}

/** A graph model in memory: its nodes and its weights by node name. */
export interface TfjsGraph {
  nodes: TfjsNode[];
  weights: Map<string, TfjsWeight>;
}

const BYTES = { float16: 2, uint8: 1, uint16: 2 } as const;

/**
 * Decodes the concatenated shard bytes into weights, in manifest order (each weight's bytes follow the
 * previous one's, as tfjs's `decodeWeights` reads them). Quantized entries are dequantized:
 * `v * scale + min` for uint8/uint16, IEEE half for float16.
 */
export function decodeWeights(specs: readonly TfjsWeightSpec[], data: Uint8Array): Map<string, TfjsWeight> {
  const out = new Map<string, TfjsWeight>();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype !== "float32" && spec.dtype !== "int32") {
      throw new Error(`Cannot read tfjs weight "${spec.name}": unsupported dtype ${spec.dtype}`);
    }
    const q = spec.quantization;
    const size = q ? BYTES[q.dtype] : 4;
    if (size === undefined) {
      throw new Error(`Cannot read tfjs weight "${spec.name}": unsupported quantization ${q?.dtype}`);
    }
    if (offset + count * size > data.length) {
      throw new Error(
        `Cannot read tfjs weight "${spec.name}": shards hold ${data.length} bytes, it needs ${
          offset + count * size
        }`,
      );
    }
    const values = spec.dtype === "int32" ? new Int32Array(count) : new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const at = offset + i * size;
      if (!q) values[i] = spec.dtype === "int32" ? view.getInt32(at, true) : view.getFloat32(at, true);
      else if (q.dtype === "float16") values[i] = halfToFloat(view.getUint16(at, true));
      else {
        const raw = q.dtype === "uint8" ? view.getUint8(at) : view.getUint16(at, true);
        values[i] = raw * (q.scale ?? 1) + (q.min ?? 0);
      }
    }
    out.set(spec.name, { shape: [...spec.shape], dtype: spec.dtype, values });
    offset += count * size;
  }
  return out;
}

/** Parses model.json content plus its shard bytes (concatenated in manifest order) into a graph. */
export function parseTfjsGraph(json: TfjsModelJson, data: Uint8Array): TfjsGraph {
  if (json.format !== undefined && json.format !== "graph-model") {
    throw new Error(`Cannot read tfjs model: format is "${json.format}", expected "graph-model"`);
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  return { nodes: json.modelTopology.node, weights: decodeWeights(specs, data) };
}

/** Reads `model.json` and its shards (paths relative to it) from disk. */
export async function readTfjsGraph(modelJsonPath: string): Promise<{ graph: TfjsGraph; bytes: Uint8Array }> {
  const json = JSON.parse(await Deno.readTextFile(modelJsonPath)) as TfjsModelJson;
  const parts = await Promise.all(
    json.weightsManifest.flatMap((g) => g.paths).map((p) => Deno.readFile(join(dirname(modelJsonPath), p))),
  );
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { graph: parseTfjsGraph(json, bytes), bytes };
}

/** A string attribute (model.json stores them base64). */
export function attrString(node: TfjsNode, key: string, fallback?: string): string {
  const s = node.attr?.[key]?.s;
  if (s === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`Cannot convert tfjs node "${node.name}": attribute "${key}" is missing`);
  }
  return atob(s);
}

/** A list-of-ints attribute (strides, ksize, dilations). */
export function attrInts(node: TfjsNode, key: string, fallback: number[] = []): number[] {
  return node.attr?.[key]?.list?.i?.map(Number) ?? fallback;
}

/** A list-of-strings attribute (fused_ops), decoded. */
export function attrStrings(node: TfjsNode, key: string): string[] {
  return node.attr?.[key]?.list?.s?.map((s) => atob(s)) ?? [];
}

/** A bool attribute. */
export function attrBool(node: TfjsNode, key: string, fallback = false): boolean {
  return node.attr?.[key]?.b ?? fallback;
}

/** A float attribute. */
export function attrFloat(node: TfjsNode, key: string, fallback = 0): number {
  return node.attr?.[key]?.f ?? fallback;
}
