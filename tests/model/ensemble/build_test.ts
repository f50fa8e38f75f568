/**
 * The ensemble graphs against their members run alone in onnxruntime: the ensemble's probabilities are the mean
 * of the members' (in canonical order) or, with geometric pooling, their normalised geometric mean, and with flip on a crop and its mirror give the same answer; and
 * `--if-missing` rebuilds an ensemble when its members' fingerprint changes.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { buildEnsemble, ENSEMBLES, MEMBERS, membersFingerprint } from "../../../model/ensemble/build.ts";
import { buildEnsembleModels } from "../../../model/ensemble/models.ts";
import { encodeModel, makeModel } from "../../../model/onnx/helper.ts";
import { CANONICAL_LABELS, toCanonical } from "../../../model/spec.ts";

const S = 112;

function image(n: number, seed: number): Float32Array {
  const out = new Float32Array(n * S * S * 3);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    out[i] = ((i % (S * 3)) * 0.9 + (s % 83)) % 256;
  }
  return out;
}

async function run(onnx: Uint8Array, x: Float32Array, n: number, size = S): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnx);
  const out = await session.run({ image: new ort.Tensor("float32", x, [n, size, size, 3]) });
  return out.probabilities.data as Float32Array;
}

Deno.test("ensemble: the mean of the members' probabilities in canonical order", async () => {
  const n = 2, x = image(n, 5);
  const face = MEMBERS["faceapi-expression"];
  const faceOut = await run(encodeModel(makeModel(await face.graph())), x, n);
  // two copies of one member: their mean is that member, permuted to canonical order
  const twin = await buildEnsemble({
    id: "t",
    members: ["faceapi-expression", "faceapi-expression"],
    flip: false,
  });
  assert.deepEqual(twin.manifest.labels, [...CANONICAL_LABELS]);
  const got = await run(twin.onnx, x, n);
  for (let b = 0; b < n; b++) {
    const want = toCanonical(faceOut.subarray(b * 7, b * 7 + 7), face.description.labels);
    for (let k = 0; k < 7; k++) assert.ok(Math.abs(got[b * 7 + k] - want[k]) < 1e-6, `${b},${k}`);
  }
  // the emotion net alone at its own size, permuted
  const emo = MEMBERS["human-emotion"];
  const x64 = x.subarray(0, n * 64 * 64 * 3);
  const emoOut = await run(encodeModel(makeModel(await emo.graph())), x64, n, 64);
  const one = await run(
    (await buildEnsemble({ id: "e", members: ["human-emotion"], flip: false })).onnx,
    x64,
    n,
    64,
  );
  for (let b = 0; b < n; b++) {
    const want = toCanonical(emoOut.subarray(b * 7, b * 7 + 7), emo.description.labels);
    for (let k = 0; k < 7; k++) assert.ok(Math.abs(one[b * 7 + k] - want[k]) < 1e-6, `${b},${k}`);
  }
  // both, with the emotion member fed the 112 px crop resized in the graph: a valid distribution
  const both = await run(
    (await buildEnsemble({
      id: "b",
      members: ["faceapi-expression", "human-emotion"],
      flip: false,
    })).onnx,
    x,
    n,
  );
  for (let b = 0; b < n; b++) {
    const sum = both.subarray(b * 7, b * 7 + 7).reduce((a, v) => a + v, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `row ${b} sums to ${sum}`);
  }
});

Deno.test("ensemble with flip: a crop and its mirror score the same", async () => {
  const n = 2, x = image(n, 9);
  const { onnx, manifest } = await buildEnsemble({ id: "t", members: ["human-emotion"], flip: true });
  assert.equal(manifest.architecture.details?.flip, true);
  const x64 = x.slice(0, n * 64 * 64 * 3);
  const a = await run(onnx, x64, n, 64);
  const b = await run(onnx, mirror64(x64, n), n, 64);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `${i}: ${a[i]} vs ${b[i]}`);
  const unflipped = await run(
    (await buildEnsemble({ id: "u", members: ["human-emotion"], flip: false })).onnx,
    x64,
    n,
    64,
  );
  assert.ok(unflipped.some((v, i) => Math.abs(v - a[i]) > 1e-4), "flip averaging changes the scores");
});

Deno.test("ensemble with geometric pooling: the normalised geometric mean of the members' probabilities", async () => {
  const n = 2, x = image(n, 13);
  const face = MEMBERS["faceapi-expression"];
  const faceOut = await run(encodeModel(makeModel(await face.graph())), x, n);
  // the emotion member as the ensemble feeds it: the 112 px crop resized in the graph, taken from a one-member
  // ensemble (whose arithmetic mean of one is that member, in canonical order)
  const emoAlone = await buildEnsemble({ id: "e", members: ["human-emotion"], flip: false });
  const x64 = x.subarray(0, n * 64 * 64 * 3);
  const emoOut = await run(emoAlone.onnx, x64, n, 64);
  const geo = await buildEnsemble({
    id: "g",
    members: ["faceapi-expression", "human-emotion"],
    flip: false,
    pooling: "geometric",
  });
  assert.equal(geo.manifest.architecture.details?.pooling, "geometric");
  // fed at the emotion net's own size the in-graph resize is the identity, so compare on 64 px crops
  const emoGeo = await buildEnsemble({
    id: "h",
    members: ["human-emotion", "human-emotion"],
    flip: false,
    pooling: "geometric",
  });
  const twin = await run(emoGeo.onnx, x64, n, 64);
  for (let i = 0; i < twin.length; i++) {
    assert.ok(Math.abs(twin[i] - emoOut[i]) < 1e-5, `the geometric mean of a member with itself is it: ${i}`);
  }
  const got = await run(geo.onnx, x, n);
  const mean = await run(
    (await buildEnsemble({ id: "m", members: ["faceapi-expression", "human-emotion"], flip: false })).onnx,
    x,
    n,
  );
  for (let b = 0; b < n; b++) {
    const f = toCanonical(faceOut.subarray(b * 7, b * 7 + 7), face.description.labels);
    // the arithmetic ensemble's row minus the face-api half is the resized emotion member's half
    const e = Array.from({ length: 7 }, (_, k) => 2 * mean[b * 7 + k] - f[k]);
    const g = f.map((v, k) => Math.sqrt(Math.max(v, 1e-12) * Math.max(e[k], 1e-12)));
    const z = g.reduce((a, v) => a + v, 0);
    for (let k = 0; k < 7; k++) {
      assert.ok(Math.abs(got[b * 7 + k] - g[k] / z) < 1e-4, `${b},${k}: ${got[b * 7 + k]} vs ${g[k] / z}`);
    }
    assert.ok(Math.abs(got.subarray(b * 7, b * 7 + 7).reduce((a, v) => a + v, 0) - 1) < 1e-5);
  }
});

/** The mirror of 64x64 crops (the emotion net's own size; the test reuses the first 64*64*3*n values). */
function mirror64(x: Float32Array, n: number): Float32Array {
  const s = 64, out = new Float32Array(n * s * s * 3);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < s; y++) {
      for (let c = 0; c < s; c++) {
        for (let k = 0; k < 3; k++) {
          out[((b * s + y) * s + c) * 3 + k] = x[((b * s + y) * s + (s - 1 - c)) * 3 + k];
        }
      }
    }
  }
  return out;
}

Deno.test("models --if-missing rebuilds an ensemble whose members changed, keeps one whose members did not", async () => {
  const out = await Deno.makeTempDir({ prefix: "ensemble-fp-" });
  try {
    const spec = ENSEMBLES.find((e) => e.id === "human-emotion-flip")!;
    const first = await buildEnsembleModels({ out, only: [spec.id] });
    assert.equal(first[0].status, "built");
    assert.equal(first[0].manifest.provenance.weightsSha256, await membersFingerprint(spec));
    assert.equal((await buildEnsembleModels({ out, ifMissing: true, only: [spec.id] }))[0].status, "kept");
    // A manifest written from other member weights (or an older member builder) has another fingerprint.
    const path = join(out, `${spec.id}.manifest.json`);
    const m = JSON.parse(await Deno.readTextFile(path));
    m.provenance.weightsSha256 = "0".repeat(64);
    await Deno.writeTextFile(path, JSON.stringify(m));
    assert.equal((await buildEnsembleModels({ out, ifMissing: true, only: [spec.id] }))[0].status, "built");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
