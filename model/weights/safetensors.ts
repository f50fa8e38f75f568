/**
 * Reads and writes the safetensors format (8-byte little-endian header length, a JSON header of
 * `name -> {dtype, shape, data_offsets}` plus optional `__metadata__`, then the raw little-endian data). Reading
 * converts F32, F16, BF16 and F64 to Float32Array and refuses any header or offset that does not describe the file
 * exactly (I64/I32, e.g. BatchNorm counters in a converted checkpoint, are read as float32 too); writing emits F32 with sorted keys, contiguous offsets and a space-padded header, so the same tensors
 * always give the same bytes.
 */
import type { TensorData } from "../scan_cci/params.ts";
import { halfToFloat } from "./half.ts";

/** Readable dtypes and their sizes; integer tensors (e.g. BatchNorm's `num_batches_tracked`) become float32 too. */
const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4 };
const MAX_HEADER = 100 * 1024 * 1024;

/** A tensor read from a safetensors file, converted to float32; `dtype` is the stored one. */
export interface SafeTensor extends TensorData {
  dtype: string;
}

const u32 = new Uint32Array(1);
const f32 = new Float32Array(u32.buffer);

function fail(reason: string): never {
  throw new Error(`Cannot read safetensors: ${reason}`);
}

function decode(dtype: string, bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (dtype === "F32") out[i] = view.getFloat32(4 * i, true);
    else if (dtype === "F64") out[i] = view.getFloat64(8 * i, true);
    else if (dtype === "F16") out[i] = halfToFloat(view.getUint16(2 * i, true));
    else if (dtype === "I64") out[i] = Number(view.getBigInt64(8 * i, true));
    else if (dtype === "I32") out[i] = view.getInt32(4 * i, true);
    else {
      // bfloat16 is the top half of a float32.
      u32[0] = view.getUint16(2 * i, true) << 16;
      out[i] = f32[0];
    }
  }
  return out;
}

/**
 * Parses safetensors bytes into `name -> {dtype, shape, data}` (data as Float32Array). Throws
 * `Cannot read safetensors: ...` naming the tensor and the problem for a truncated file, bad JSON, an unsupported
 * dtype, offsets that overlap, leave gaps, run past the end or disagree with the shape.
 */
export function readSafetensors(bytes: Uint8Array): Map<string, SafeTensor> {
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER || 8 + headerLen > bytes.length) {
    fail(`header length ${headerLen} does not fit a ${bytes.length}-byte file`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("header is not a JSON object");
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") continue;
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== "object" || info === null) fail(`tensor "${name}" has no description`);
    const { dtype, shape, data_offsets: off } = info;
    if (typeof dtype !== "string" || !(dtype in BYTES)) {
      fail(
        `tensor "${name}" has unsupported dtype ${
          JSON.stringify(dtype)
        } (F32, F16, BF16, F64, I64, I32 are read)`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`tensor "${name}" has invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) ||
      off[0] > off[1]
    ) {
      fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (off[1] - off[0] !== count * BYTES[dtype]) {
      fail(
        `tensor "${name}" spans ${off[1] - off[0]} bytes, but ${dtype} [${shape}] needs ${
          count * BYTES[dtype]
        }`,
      );
    }
    if (off[1] > dataLen) {
      fail(`tensor "${name}" ends at byte ${off[1]}, past the ${dataLen}-byte data section`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin: off[0], end: off[1] });
  }
  // The format requires the data section to be covered exactly once: no overlaps, no holes, no trailing bytes.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin !== pos) {
      fail(`tensor "${e.name}" starts at byte ${e.begin}, expected ${pos} (overlap or gap)`);
    }
    pos = e.end;
  }
  if (pos !== dataLen) fail(`data section is ${dataLen} bytes but tensors cover ${pos}`);
  const out = new Map<string, SafeTensor>();
  for (const e of entries) {
    const slice = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    const count = e.shape.reduce((a, b) => a * b, 1);
    out.set(e.name, { dtype: e.dtype, shape: e.shape, data: decode(e.dtype, slice, count) });
  }
  return out;
}

/**
 * The `__metadata__` string map of a safetensors file (empty when absent). Reads only the header, so callers
 * that already ran {@link readSafetensors} on the bytes pay nothing for the tensors again; a header that is not
 * a JSON object throws like readSafetensors does. Non-string values are dropped (the format allows strings only).
 */
export function readSafetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const len = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  if (len > MAX_HEADER || 8 + len > bytes.length) {
    fail(`header length ${len} does not fit a ${bytes.length}-byte file`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + len)));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  const meta = (header as { __metadata__?: unknown } | null)?.__metadata__;
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) return {};
  return Object.fromEntries(Object.entries(meta).filter(([, v]) => typeof v === "string")) as Record<
    string,
    string
  >;
}

/**
 * Writes tensors as an F32 safetensors file: keys sorted, offsets contiguous, header padded with spaces to a
 * multiple of 8 bytes (as the reference implementation does), optional string metadata. Deterministic bytes.
 */
export function writeSafetensors(
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    header.__metadata__ = Object.fromEntries(
      Object.keys(metadata).sort().map((k) => [k, String(metadata[k])]),
    );
  }
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors[name];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new Error(
        `Cannot write safetensors: tensor "${name}" has ${data.length} values for shape [${shape}]`,
      );
    }
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let pos = 8 + head.length;
  const view = new DataView(out.buffer);
  for (const name of names) {
    for (const v of tensors[name].data) {
      view.setFloat32(pos, v, true);
      pos += 4;
    }
  }
  return out;
}
