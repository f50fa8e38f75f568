/**
 * Cross-checks `model:build` against an independent PyTorch implementation of the reference model
 * (tests/tools/torch_independent.py). Not part of the test suite (it needs python3-torch, e.g. Debian's
 * `apt-get install python3-torch`): it writes random weights in the safetensors layout, builds the ONNX with the
 * project's builder, runs it with onnxruntime on real photos and random images, and saves inputs and outputs for
 * the Python side, which computes the reference forward in float64 and reports the largest differences.
 *
 *   deno run -A tests/tools/torch_parity.ts --width 1 --seed 7 --style test --out artifacts/parity
 *   /usr/bin/python3 tests/tools/torch_independent.py artifacts/parity
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { buildScanCci } from "../../model/scan_cci/build.ts";
import { randomScanCci } from "../../model/scan_cci/random.ts";
import { provenanceMetadata } from "../../model/weights/provenance.ts";
import { writeSafetensors } from "../../model/weights/safetensors.ts";
import { toTensor } from "../../model/preprocess.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    width: { type: "string", default: "1" },
    seed: { type: "string", default: "7" },
    style: { type: "string", default: "test" },
    random: { type: "string", default: "2" },
    out: { type: "string", default: "artifacts/parity" },
  },
});
const width = Number(values.width);
const out = values.out!;
await Deno.mkdir(out, { recursive: true });

const tensors = randomScanCci({
  seed: Number(values.seed),
  width,
  style: values.style as "pytorch" | "test",
});
const record: Record<string, { shape: number[]; data: Float32Array }> = {};
for (const [k, v] of tensors) record[k] = { shape: v.shape, data: v.data };
await Deno.writeFile(
  join(out, "weights.safetensors"),
  writeSafetensors(
    record,
    provenanceMetadata({ trained: false, source: `randomScanCci seed ${values.seed} (torch_parity)` }),
  ),
);
const { onnx, manifest } = await buildScanCci({
  tensors,
  labels: "affectnet",
  width,
  source: "parity",
  trained: false,
});
await Deno.writeFile(join(out, "scan-cci.onnx"), onnx);

// Real faces (the face-api demo photos, centre-cropped and resized) plus seeded random-noise images.
const spec = { ...manifest.input };
const images: Uint8Array[] = [];
const demo = "node_modules/@vladmandic/face-api/demo";
for (let i = 1; i <= 6; i++) {
  const { data } = await sharp(await Deno.readFile(`${demo}/sample${i}.jpg`))
    .resize(224, 224, { fit: "cover" }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  images.push(new Uint8Array(data));
}
let s = 12345;
for (let r = 0; r < Number(values.random); r++) {
  const img = new Uint8Array(224 * 224 * 3);
  for (let i = 0; i < img.length; i++) img[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  images.push(img);
}
const n = images.length;
const plane = 3 * 224 * 224;
const input = new Float32Array(n * plane);
images.forEach((data, i) => toTensor({ data, width: 224, height: 224, channels: 3 }, spec, input, i * plane));
await Deno.writeFile(join(out, "input.f32"), new Uint8Array(input.buffer));

const session = await ort.InferenceSession.create(onnx, { graphOptimizationLevel: "all" });
const result = await session.run({ input: new ort.Tensor("float32", input, [n, 3, 224, 224]) });
for (const name of ["logits", "head_logits", "attention_map"]) {
  const t = result[name];
  await Deno.writeFile(join(out, `${name}.f32`), new Uint8Array((t.data as Float32Array).buffer));
}
await Deno.writeTextFile(
  join(out, "meta.json"),
  JSON.stringify({ n, width, seed: Number(values.seed), style: values.style, labels: manifest.labels }),
);
console.log(`wrote ${out}: ${n} images, width ${width}, ${manifest.parameters} parameters`);
