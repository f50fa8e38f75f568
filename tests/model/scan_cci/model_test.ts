/**
 * SCAN+CCI graph correctness: the ONNX graph (onnxruntime, optimisation "all") against the independent naive
 * float64 forward in reference_forward.ts, on a width-8 model with well-scaled random weights (every BatchNorm
 * statistic non-trivial) and a batch of two images; plus the patch geometry by hand and build determinism.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { decodeModel } from "../../../model/onnx/helper.ts";
import { scanCciModel } from "../../../model/scan_cci/model.ts";
import { localPatches } from "../../../model/scan_cci/patches.ts";
import { createRng, randomScanCci } from "../../../model/scan_cci/random.ts";
import { referenceForward, referencePatches } from "./reference_forward.ts";

const WIDTH = 8;
const weights = randomScanCci({ seed: 7, width: WIDTH, style: "test" });
const built = scanCciModel(weights);
const rng = createRng(11);
const images = [0, 1].map(() => new Float32Array(3 * 224 * 224).map(() => rng.uniform(-1, 1)));
const references = images.map((img) => referenceForward(img, weights));

async function run(bytes: Uint8Array, imgs: Float32Array[]) {
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: "all",
    intraOpNumThreads: 2,
  });
  const input = new Float32Array(imgs.length * imgs[0].length);
  imgs.forEach((img, i) => input.set(img, i * img.length));
  const out = await session.run({ input: new ort.Tensor("float32", input, [imgs.length, 3, 224, 224]) });
  await session.release();
  return {
    logits: out.logits.data as Float32Array,
    heads: out.head_logits.data as Float32Array,
    map: out.attention_map.data as Float32Array,
    dims: out.head_logits.dims,
  };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("scanCciModel() matches the naive float64 reference forward within 1e-4 (width 8, batch 2)", async () => {
  const got = await run(built.bytes, images);
  assert.deepEqual(got.dims, [2, 5, 7]);
  const heads = references.flatMap((r) => r.headLogits.flatMap((h) => Array.from(h)));
  const logits = references.flatMap((r) => Array.from(r.logits));
  const maps = references.flatMap((r) => Array.from(r.attentionMap));
  const magnitude = Math.max(...heads.map(Math.abs));
  // Logits of order 1 keep the 1e-4 tolerance meaningful (it is about 1e-4 relative).
  assert.ok(magnitude > 1 && magnitude < 20, `head logit magnitude ${magnitude}`);
  const diffs = {
    heads: maxDiff(got.heads, heads),
    logits: maxDiff(got.logits, logits),
    map: maxDiff(got.map, maps),
  };
  console.log(`max |onnx - reference|: ${JSON.stringify(diffs)}; max |head logit| ${magnitude.toFixed(3)}`);
  assert.ok(diffs.heads < 1e-4 && diffs.logits < 1e-4 && diffs.map < 1e-4, JSON.stringify(diffs));
  // The two images differ, so batching did not mix them up.
  assert.ok(maxDiff(heads.slice(0, 35), heads.slice(35)) > 1e-2);
});

Deno.test("scanCciModel() output depends on each local patch's own SCAN (swapping two 4x6 patches' weights shows)", async () => {
  const swapped = new Map(weights);
  for (const s of ["0.weight", "1.weight", "2.weight", "2.bias", "2.running_mean", "2.running_var"]) {
    const a = `attention.local_attention_masks.20.attention.${s}`;
    const b = `attention.local_attention_masks.21.attention.${s}`;
    swapped.set(a, weights.get(b)!);
    swapped.set(b, weights.get(a)!);
  }
  const got = await run(scanCciModel(swapped).bytes, images.slice(0, 1));
  const ref = referenceForward(images[0], swapped);
  const original = references[0].headLogits[0];
  // The change is far above the tolerance, so the 1e-4 comparison above would catch a wrong patch/weight pairing.
  assert.ok(maxDiff(ref.headLogits[0], original) > 1e-3);
  assert.ok(maxDiff(got.heads.slice(0, 7), ref.headLogits[0]) < 1e-4);
});

Deno.test("localPatches() cuts the reference's 25 patches, 4x6 ones folded from one feature row", () => {
  const p = localPatches();
  assert.equal(p.length, 25);
  assert.deepEqual(p.map((x) => `${x.rows}x${x.cols}`), [
    ...Array(16).fill("6x6"),
    ...Array(4).fill("6x4"),
    ...Array(4).fill("4x6"),
    "4x4",
  ]);
  // Hand-computed: patch 5 is block (1, 1); patch 17 is rows 6..11, cols 24..27; patch 21 is feature row 25.
  assert.deepEqual(p[5].source.slice(0, 7), [
    6 * 28 + 6,
    6 * 28 + 7,
    6 * 28 + 8,
    6 * 28 + 9,
    6 * 28 + 10,
    6 * 28 + 11,
    7 * 28 + 6,
  ]);
  assert.deepEqual(p[17].source.slice(0, 5), [
    6 * 28 + 24,
    6 * 28 + 25,
    6 * 28 + 26,
    6 * 28 + 27,
    7 * 28 + 24,
  ]);
  // grid[r][c] = F[25, 6r + c]: the fold puts columns 6..11 of row 25 in the second grid row.
  assert.deepEqual(p[21].source, Array.from({ length: 24 }, (_, i) => 25 * 28 + i));
  assert.deepEqual(p[21].source.slice(6, 12), [706, 707, 708, 709, 710, 711]);
  assert.deepEqual(p[24].source, [24, 25, 26, 27].flatMap((r) => [24, 25, 26, 27].map((c) => r * 28 + c)));
  // Every cell of the 28x28 map lies in exactly one patch.
  assert.deepEqual(
    p.flatMap((x) => x.source).sort((a, b) => a - b),
    Array.from({ length: 784 }, (_, i) => i),
  );
});

Deno.test("localPatches() agrees with the reference unfold/permute emulation cell by cell", () => {
  const map = { c: 1, h: 28, w: 28, d: Float64Array.from({ length: 784 }, (_, i) => i) };
  const ref = referencePatches(map);
  localPatches().forEach((p, k) => {
    assert.equal(ref[k].h, p.rows, `patch ${k} rows`);
    assert.equal(ref[k].w, p.cols, `patch ${k} cols`);
    assert.deepEqual(Array.from(ref[k].d), p.source, `patch ${k}`);
  });
});

Deno.test("scanCciModel() is deterministic: same weights give byte-identical ONNX (opset 17, IR 8)", () => {
  const again = scanCciModel(randomScanCci({ seed: 7, width: WIDTH, style: "test" }));
  assert.deepEqual(again.bytes, built.bytes);
  const model = decodeModel(built.bytes) as {
    ir_version: number;
    opset_import: { version: number }[];
    graph: { output: { name: string }[] };
  };
  assert.equal(model.ir_version, 8);
  assert.equal(model.opset_import[0].version, 17);
  assert.deepEqual(model.graph.output.map((o) => o.name), ["logits", "head_logits", "attention_map"]);
});

Deno.test("scanCciModel({ fp16 }) stays close to fp32 and halves the size", async () => {
  const half = scanCciModel(weights, { fp16: true });
  assert.ok(half.bytes.length < built.bytes.length * 0.55, `${half.bytes.length} vs ${built.bytes.length}`);
  const [a, b] = await Promise.all([run(built.bytes, images), run(half.bytes, images)]);
  const d = maxDiff(a.heads, b.heads);
  console.log(
    `fp16 vs fp32: max head-logit diff ${
      d.toExponential(2)
    }, bytes ${half.bytes.length} vs ${built.bytes.length}`,
  );
  assert.ok(d > 0 && d < 0.05, `fp16 diff ${d}`);
});
