/**
 * Builds the full-width SCAN+CCI graph with constant weights (fp32 and fp16) and gzips it, so the real exported
 * graph (a quarter-gigabyte with random weights) can be carried to a GPU machine for a throughput check: speed does
 * not depend on weight values. The outputs are meaningless and the manifest says trained: false.
 *
 *   deno run -A tests/tools/constant_model.ts artifacts/gpu
 */
import { join } from "node:path";
import { buildScanCci } from "../../model/scan_cci/build.ts";
import { randomScanCci } from "../../model/scan_cci/random.ts";

const out = Deno.args[0] ?? "artifacts/gpu";
await Deno.mkdir(out, { recursive: true });
const tensors = randomScanCci({ seed: 0 });
for (const [name, t] of tensors) {
  const value = name.endsWith("running_var") || name.endsWith(".weight") && t.shape.length === 1 ? 1 : 0.01;
  t.data.fill(value);
}
for (const fp16 of [false, true]) {
  const { onnx } = await buildScanCci({
    tensors,
    labels: "affectnet",
    fp16,
    source: "constant",
    trained: false,
  });
  const file = join(out, fp16 ? "scan-cci-fp16.onnx.gz" : "scan-cci.onnx.gz");
  const gz = new Response(
    new Blob([onnx as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip")),
  );
  await Deno.writeFile(file, new Uint8Array(await gz.arrayBuffer()));
  console.log(
    `${file}: ${(onnx.length / 1e6).toFixed(1)} MB -> ${((await Deno.stat(file)).size / 1e6).toFixed(2)} MB`,
  );
}
