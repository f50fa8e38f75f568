import assert from "node:assert/strict";
import {
  readSafetensors,
  readSafetensorsMetadata,
  writeSafetensors,
} from "../../../model/weights/safetensors.ts";

/** A safetensors file from a header object and raw data bytes, for hand-made (and malformed) cases. */
function craft(header: unknown, data: number[] | Uint8Array, { lengthDelta = 0 } = {}): Uint8Array {
  const head = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length + lengthDelta), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

Deno.test("writeSafetensors() round-trips through readSafetensors() with sorted keys and metadata", () => {
  const tensors = {
    "b.weight": { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -7]) },
    "a.bias": { shape: [2], data: Float32Array.from([0.25, 9]) },
    "scalar": { shape: [], data: Float32Array.from([42]) },
  };
  const bytes = writeSafetensors(tensors, { format: "pt", source: "test" });
  const back = readSafetensors(bytes);
  assert.deepEqual([...back.keys()], ["a.bias", "b.weight", "scalar"]);
  for (const [k, t] of Object.entries(tensors)) {
    assert.equal(back.get(k)!.dtype, "F32");
    assert.deepEqual(back.get(k)!.shape, t.shape);
    assert.deepEqual(back.get(k)!.data, t.data);
  }
  assert.deepEqual(readSafetensorsMetadata(bytes), { format: "pt", source: "test" });
  // Header padded to 8 bytes; same input, same bytes (regardless of key insertion order).
  assert.equal(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0);
  const reordered = {
    "scalar": tensors.scalar,
    "a.bias": tensors["a.bias"],
    "b.weight": tensors["b.weight"],
  };
  assert.deepEqual(writeSafetensors(reordered, { source: "test", format: "pt" }), bytes);
});

Deno.test("readSafetensors() converts F16, BF16, F64 and I64 to float32", () => {
  const data = new Uint8Array(4 + 4 + 16 + 8);
  const v = new DataView(data.buffer);
  v.setUint16(0, 0x3c00, true); // 1
  v.setUint16(2, 0xc500, true); // -5
  v.setUint16(4, 0x3fc0, true); // bf16 1.5
  v.setUint16(6, 0xc020, true); // bf16 -2.5
  v.setFloat64(8, 0.1, true);
  v.setFloat64(16, -3e10, true);
  v.setBigInt64(24, -12345n, true);
  const bytes = craft({
    h: { dtype: "F16", shape: [2], data_offsets: [0, 4] },
    b: { dtype: "BF16", shape: [2], data_offsets: [4, 8] },
    d: { dtype: "F64", shape: [2, 1], data_offsets: [8, 24] },
    n: { dtype: "I64", shape: [], data_offsets: [24, 32] },
  }, data);
  const t = readSafetensors(bytes);
  assert.deepEqual(Array.from(t.get("h")!.data), [1, -5]);
  assert.deepEqual(Array.from(t.get("b")!.data), [1.5, -2.5]);
  assert.deepEqual(t.get("d")!.data, Float32Array.from([0.1, -3e10]));
  assert.deepEqual(t.get("d")!.shape, [2, 1]);
  assert.deepEqual(Array.from(t.get("n")!.data), [-12345]);
});

Deno.test("readSafetensors() refuses malformed files with a clear reason", () => {
  const ok = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(5), /shorter than the 8-byte header length/],
    [craft(ok, new Array(8).fill(0), { lengthDelta: 1000 }), /header length \d+ does not fit/],
    [craft("{not json", []), /header is not valid JSON/],
    [craft("[1,2]", []), /header is not a JSON object/],
    [craft({ a: { dtype: "I8", shape: [1], data_offsets: [0, 1] } }, [0]), /"a" has unsupported dtype "I8"/],
    [
      craft({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, [0, 0, 0, 0]),
      /"a" has invalid shape/,
    ],
    [
      craft({ a: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }, new Array(8).fill(0)),
      /invalid data_offsets/,
    ],
    [
      craft({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Array(8).fill(0)),
      /spans 8 bytes, but F32 \[3\] needs 12/,
    ],
    [
      craft({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, [0, 0, 0, 0]),
      /ends at byte 8, past the 4-byte data/,
    ],
    [
      craft({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
      }, new Array(8).fill(0)),
      /starts at byte 4, expected 8 \(overlap or gap\)/,
    ],
    [
      craft({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, new Array(8).fill(0)),
      /overlap or gap/,
    ],
    [craft(ok, new Array(12).fill(0)), /data section is 12 bytes but tensors cover 8/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => readSafetensors(bytes), (e: Error) => {
      assert.match(e.message, /^Cannot read safetensors: /);
      assert.match(e.message, pattern);
      return true;
    });
  }
});
