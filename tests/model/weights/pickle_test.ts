import assert from "node:assert/strict";
import { readNumpyPickle } from "../../../model/weights/pickle.ts";

const dir = new URL("../../fixtures/model/", import.meta.url);
const read = (name: string) => readNumpyPickle(Deno.readFileSync(new URL(name, dir)));

/** What make_pickles.py stores, in C order. */
const EXPECTED: Record<string, { shape: number[]; data: number[] }> = {
  "conv1.weight": { shape: [2, 3, 2, 2], data: Array.from({ length: 24 }, (_, i) => (i - 10.5) / 4) },
  "bn1.running_var": { shape: [3], data: [0.5, 1.25, 3] },
  "layer1.0.conv1.weight": { shape: [2, 2], data: [1.5, -2, 0.25, 65504] },
  "fortran": { shape: [2, 3], data: [0, 1, 2, 3, 4, 5] },
  "big_endian": { shape: [2], data: [1, -2.5] },
  "fc.bias": { shape: [2], data: [7, -8] },
};

for (const file of ["numpy_p2.pkl", "numpy_p4.pkl", "numpy_p5.pkl", "ordered_p2.pkl", "py2_p2.pkl"]) {
  Deno.test(`readNumpyPickle() reads ${file} (numpy arrays of every fixture dtype, C and Fortran order)`, () => {
    const got = read(file);
    assert.deepEqual([...got.keys()].sort(), Object.keys(EXPECTED).sort());
    for (const [name, want] of Object.entries(EXPECTED)) {
      const t = got.get(name)!;
      assert.deepEqual(t.shape, want.shape, name);
      assert.deepEqual(Array.from(t.data), want.data, name);
    }
    assert.equal(got.get("big_endian")!.dtype, ">f4");
    assert.equal(got.get("layer1.0.conv1.weight")!.dtype, "<f2");
  });
}

Deno.test("readNumpyPickle() refuses a pickle that calls os.system, naming the global", () => {
  assert.throws(() => read("evil.pkl"), /Cannot read pickle: refusing global "(posix|os)\.system"/);
});

Deno.test("readNumpyPickle() refuses truncated data and non-dict pickles", () => {
  const bytes = Deno.readFileSync(new URL("py2_p2.pkl", dir));
  assert.throws(() => readNumpyPickle(bytes.subarray(0, bytes.length - 40)), /Cannot read pickle: /);
  // pickle.dumps([1, 2], protocol=2)
  const list = new Uint8Array([0x80, 2, 0x5d, 0x71, 0, 0x28, 0x4b, 1, 0x4b, 2, 0x65, 0x2e]);
  assert.throws(() => readNumpyPickle(list), /top-level object is not a dict/);
});
