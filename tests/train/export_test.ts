import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { createScanCci } from "../../train/arch.ts";
import { initBackend } from "../../train/backend.ts";
import { saveCheckpoint } from "../../train/checkpoint.ts";
import { exportModel } from "../../train/export.ts";
import { main as buildMain } from "../../model/build.ts";
import { readSafetensorsMetadata, writeSafetensors } from "../../model/weights/safetensors.ts";
import { randomScanCci } from "../../model/scan_cci/random.ts";
import { parseManifest } from "../../model/manifest.ts";
import { CANONICAL_LABELS } from "../../model/spec.ts";

await initBackend();
const WIDTH = 16;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

async function synthCheckpoint(dir: string, weights: Map<string, { shape: number[]; data: Float32Array }>) {
  return await saveCheckpoint(dir, {
    weights,
    momentum: new Map(),
    state: {
      version: 1,
      epoch: 1,
      stepInEpoch: 0,
      globalStep: 3,
      lr: { backbone: 1e-4, heads: 1e-3 },
      sampler: { mode: "uniform", epoch: 1, rng: { s: [1, 2, 3, 4] } },
      augmentRng: { s: [1, 2, 3, 4] },
      configHash: "x",
      width: WIDTH,
      classes: 7,
      labels: [...CANONICAL_LABELS],
      seed: 3,
      data: { name: "synthetic-shapes(seed=1,n=10)", synthetic: true, samples: 10 },
      backend: "wasm",
      history: [{ epoch: 1, loss: 1, accuracy: 1, seconds: 1, imagesPerSecond: 1 }],
      savedAt: "2026-01-01T00:00:00Z",
    },
  });
}

Deno.test("exportModel() ONNX agrees with the tfjs model within 1e-4 and a synthetic run says trained: false", async () => {
  const dir = await Deno.makeTempDir();
  // "test" style draws every tensor, BN running statistics included, so parity exercises every term.
  const weights = randomScanCci({ width: WIDTH, seed: 3, style: "test" });
  const model = createScanCci({ width: WIDTH, weights });
  try {
    const ckpt = await synthCheckpoint(`${dir}/ckpt`, model.exportWeights());
    const r = await exportModel({ checkpoint: ckpt, out: `${dir}/out` });
    const manifest = parseManifest(JSON.parse(await Deno.readTextFile(r.manifestPath)));
    assert.equal(manifest.trained, false);
    assert.match(manifest.provenance.source, /synthetic/);
    assert.deepEqual(manifest.labels, [...CANONICAL_LABELS]);

    const n = 2;
    const nchw = tf.randomUniform([n, 3, 224, 224], -1, 1, "float32", 5);
    const out = model.apply(tf.transpose(nchw, [0, 2, 3, 1]) as tf.Tensor4D);
    const session = await ort.InferenceSession.create(await Deno.readFile(r.onnxPath));
    const res = await session.run({
      input: new ort.Tensor("float32", nchw.dataSync() as Float32Array, [n, 3, 224, 224]),
    });
    const dl = maxDiff(out.logits.dataSync(), res.logits.data as Float32Array);
    const dh = maxDiff(out.heads.dataSync(), res.head_logits.data as Float32Array);
    const da = maxDiff(out.attentionMap.dataSync(), res.attention_map.data as Float32Array);
    assert.ok(dl < 1e-4 && dh < 1e-4 && da < 1e-4, `logits ${dl} heads ${dh} attention ${da}`);
    tf.dispose([nchw, out.logits, out.heads, out.attention, out.layer3, out.attentionMap, ...out.regions]);
    await session.release();
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exportModel() refuses ambiguous input and marks bare weight files untrained by default", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(exportModel({ out: dir }), /exactly one of checkpoint/);
    const r = await exportModel({ weights: randomScanCci({ width: WIDTH, seed: 1 }), out: dir });
    assert.equal(r.manifest.trained, false);
    assert.match(r.manifest.provenance.source, /in-memory/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model:build --weights and train export --weights give the same trained flag from the file's provenance", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const weights = randomScanCci({ width: WIDTH, seed: 1 });
    // A synthetic run's checkpoint carries trained "false" in its weights file.
    const synthetic = `${await synthCheckpoint(`${dir}/ckpt`, weights)}/weights.safetensors`;
    assert.equal(readSafetensorsMetadata(await Deno.readFile(synthetic)).trained, "false");
    // No metadata (e.g. the authors' checkpoint converted with the README's snippet): trained.
    const bare = `${dir}/bare.safetensors`;
    await Deno.writeFile(bare, writeSafetensors(Object.fromEntries(weights)));
    let n = 0;
    const both = async (file: string, flag?: "--trained" | "--untrained") => {
      const e = await exportModel({
        weights: file,
        out: `${dir}/e${++n}`,
        trained: flag === undefined ? undefined : flag === "--trained",
      });
      const b = await buildMain([
        ...["--weights", file, "--labels", "affwild2", "--out", `${dir}/b${n}`],
        ...(flag ? [flag] : []),
      ]);
      assert.equal(e.manifest.trained, b.manifest.trained, `${file} ${flag ?? ""}`);
      return b.manifest;
    };
    const fromCheckpoint = await both(synthetic);
    assert.equal(fromCheckpoint.trained, false);
    assert.match(fromCheckpoint.provenance.source, /synthetic test run/);
    assert.equal((await both(bare)).trained, true);
    assert.equal((await both(bare, "--untrained")).trained, false);
    assert.equal((await both(synthetic, "--trained")).trained, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
