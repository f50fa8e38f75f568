/**
 * One-off cross-check against the authors' PyTorch modules (not in the test suite; needs torch):
 *
 *   deno run -A tests/tools/torch_crosscheck.ts [--width 8] [--style test|pytorch] [--batch 2] [--seed 1]
 *
 * Draws seeded weights, writes them as safetensors, runs tests/tools/torch_reference.py (reference code, float64)
 * and our ONNX graph (onnxruntime, float32, optimisation "all") on the same random images, and prints the max
 * absolute differences of head_logits, logits and attention_map with the logit magnitudes.
 */
import * as ort from "onnxruntime-node";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { scanCciModel } from "../../model/scan_cci/model.ts";
import { createRng, randomScanCci } from "../../model/scan_cci/random.ts";
import { provenanceMetadata } from "../../model/weights/provenance.ts";
import { writeSafetensors } from "../../model/weights/safetensors.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    width: { type: "string", default: "8" },
    style: { type: "string", default: "test" },
    batch: { type: "string", default: "2" },
    seed: { type: "string", default: "1" },
    python: { type: "string", default: "/usr/bin/python3" },
  },
});
const width = Number(values.width);
const batch = Number(values.batch);
const weights = randomScanCci({
  seed: Number(values.seed),
  width,
  style: values.style as "test" | "pytorch",
});
const dir = await Deno.makeTempDir({ prefix: "torch-check-" });
try {
  const meta = provenanceMetadata({
    trained: false,
    source: `randomScanCci seed ${values.seed} (torch_crosscheck)`,
  });
  await Deno.writeFile(join(dir, "w.safetensors"), writeSafetensors(Object.fromEntries(weights), meta));
  const rng = createRng(99);
  const input = new Float32Array(batch * 3 * 224 * 224).map(() => rng.uniform(-1, 1));
  await Deno.writeFile(join(dir, "x.f32"), new Uint8Array(input.buffer));
  const py = await new Deno.Command(values.python, {
    args: [
      new URL("./torch_reference.py", import.meta.url).pathname,
      ...["--weights", join(dir, "w.safetensors"), "--input", join(dir, "x.f32"), "--batch", String(batch)],
      ...["--width", String(width), "--out", join(dir, "ref.json")],
    ],
    stderr: "inherit",
  }).output();
  if (!py.success) throw new Error("Cannot run torch_reference.py (is torch installed?)");
  const ref = JSON.parse(await Deno.readTextFile(join(dir, "ref.json")));
  const session = await ort.InferenceSession.create(scanCciModel(weights).bytes, {
    graphOptimizationLevel: "all",
    intraOpNumThreads: 2,
  });
  const out = await session.run({ input: new ort.Tensor("float32", input, [batch, 3, 224, 224]) });
  const diff = (name: string, key: string) => {
    const a = out[name].data as Float32Array;
    const b = ref[key] as number[];
    let d = 0;
    let mag = 0;
    for (let i = 0; i < b.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      mag = Math.max(mag, Math.abs(b[i]));
    }
    return { maxAbsDiff: d, maxAbsRef: mag, count: b.length };
  };
  console.log(JSON.stringify({
    width,
    style: values.style,
    batch,
    head_logits: diff("head_logits", "head_logits"),
    logits: diff("logits", "logits"),
    attention_map: diff("attention_map", "attention_map"),
  }));
} finally {
  await Deno.remove(dir, { recursive: true });
}
