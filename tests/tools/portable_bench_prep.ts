/**
 * Prepares a portable CPU benchmark for a machine without Deno (e.g. a quiet lent machine with Python
 * onnxruntime 1.30, the same core as onnxruntime-node 1.30): full-width SCAN+CCI graphs (fp32, fp16)
 * and a MatMul probe, with weights whose values repeat with a short period so the files gzip to ~25 MB.
 * Dense kernels run at the same speed whatever the values; scales follow the PyTorch-style init.
 *
 *   deno run -A tests/tools/portable_bench_prep.ts OUT_DIR && gzip -1 OUT_DIR/*.onnx
 *   cp tests/tools/portable_bench.py OUT_DIR/ ; python3 OUT_DIR/portable_bench.py   # on the target machine
 */
import { scanCciModel } from "../../model/scan_cci/model.ts";
import { scanCciParamSpecs, type TensorData } from "../../model/scan_cci/params.ts";
import { createRng } from "../../model/scan_cci/random.ts";
import { matmulProbeModel, PROBE_SHAPE } from "./matmul_probe.ts";
import { join } from "node:path";

const out = Deno.args[0] ?? "scratch/dev";
await Deno.mkdir(out, { recursive: true });
const rng = createRng(1);
const period = 509;
const pattern = Array.from({ length: period }, () => rng.normal(1));
const weights = new Map<string, TensorData>();
for (const s of scanCciParamSpecs()) {
  const n = s.shape.reduce((a, b) => a * b, 1);
  const std = s.init === "resnetConv"
    ? Math.sqrt(2 / (s.shape[2] * s.shape[2] * s.shape[0]))
    : 1 / Math.sqrt(Math.max(s.fanIn, 1));
  const constant = { bnWeight: 1, bnVar: 1, bnBias: 0, bnMean: 0, prelu: 0.25 } as Record<string, number>;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = constant[s.init] ?? pattern[i % period] * std;
  weights.set(s.name, { shape: s.shape, data });
}
await Deno.writeFile(join(out, "perpatch.onnx"), scanCciModel(weights).bytes);
await Deno.writeFile(join(out, "fp16.onnx"), scanCciModel(weights, { fp16: true }).bytes);
const [, k, n] = PROBE_SHAPE;
const w = new Float32Array(k * n).map((_, i) => pattern[i % period] * 0.02);
await Deno.writeFile(join(out, "matmul.onnx"), matmulProbeModel(w));
console.log(`Wrote perpatch/fp16/matmul .onnx to ${out}`);
