import assert from "node:assert/strict";
import {
  DataType,
  decodeModel,
  encodeModel,
  float,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
  toHalf,
} from "../../../model/onnx/helper.ts";

Deno.test("makeNode() sorts attributes by name and types them (INT, FLOAT, INTS, STRING)", () => {
  const node = makeNode("Conv", ["x", "w"], ["y"], {
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    group: 1,
    alpha: float(1),
    mode: "x",
  });
  assert.deepEqual(node.attribute.map((a) => a.name), ["alpha", "group", "mode", "pads", "strides"]);
  assert.deepEqual(node.attribute.map((a) => a.type), [1, 2, 3, 7, 7]);
  assert.equal(node.name, "y");
});

Deno.test("encodeModel() gives identical bytes for identical graphs, whatever the attribute order", () => {
  const build = (attrs: Record<string, number | number[]>) => {
    const w = makeTensor("w", DataType.FLOAT, [2, 1, 1, 1], [0.5, -1]);
    const g = makeGraph(
      [makeNode("Conv", ["x", "w"], ["y"], attrs)],
      "g",
      [makeValueInfo("x", DataType.FLOAT, ["N", 1, 2, 2])],
      [makeValueInfo("y", DataType.FLOAT, ["N", 2, 2, 2])],
      [w],
    );
    return encodeModel(makeModel(g, { metadata: { b: "2", a: "1" } }));
  };
  const a = build({ kernel_shape: [1, 1], group: 1 });
  const b = build({ group: 1, kernel_shape: [1, 1] });
  assert.deepEqual(a, b);
  const m = decodeModel(a) as { ir_version: number; metadata_props: { key: string }[] };
  assert.equal(m.ir_version, 8);
  assert.deepEqual(m.metadata_props.map((p) => p.key), ["a", "b"]);
});

Deno.test("toHalf() rounds float32 to IEEE half bits (known values)", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [65504, 0x7bff],
    [65520, 0x7c00], // rounds up to +inf
    [1e6, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -14, 0x0400], // smallest normal
    [1e-9, 0x0000],
    [1 + 2 ** -11, 0x3c00], // tie rounds to even
    [1 + 3 * 2 ** -11, 0x3c02],
  ];
  for (const [v, bits] of cases) assert.equal(toHalf(v), bits, `toHalf(${v})`);
  assert.equal(toHalf(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(toHalf(NaN) & 0x3ff, 0);
});
