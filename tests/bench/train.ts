/**
 * Training benchmark (`deno task bench:train [--stock-full] [--skip-full] [--skip-kernels]`): on the backend train/backend.ts
 * picks,
 *   1. the conv-gradient case of the platform notes (3x3 64->64 'same' conv on 2x56x56, loss = sum(relu(conv)),
 *      dX and dW): project kernels on wasm and on cpu vs tfjs's stock cpu kernels, as a ratio in this process
 *      (the stock kernel takes ~45 s per iteration on this case, so it runs only with --stock-full; otherwise the
 *      baseline is the notes' smaller 2x28x28 32->32 case, measured for every variant);
 *   2. training throughput (images/s, after two warm-up steps) at widths 1/16, 1/4 and 1 (full size), with the
 *      useful GFLOP/s it means (3 x the graph-counted forward FLOPs per image: forward, input gradient, weight
 *      gradient) and that rate's ratio to onnxruntime's float32 MatMul GFLOP/s on 2 threads (the rate
 *      bench:model measures), the probe run just before and after each width so both see the same load; each
 *      width runs on the main thread (workers 1) and data-parallel on every core (workers auto,
 *      train/parallel.ts), and the speed-up between the two is printed.
 * Timings on a shared machine are noisy; compare ratios from one run.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../train/backend.ts";
import { registerFastConvGradients } from "../../train/kernels.ts";
import { fit } from "../../train/fit.ts";
import { parseConfig } from "../../train/config.ts";
import { syntheticShapes } from "../../train/synthetic.ts";
import * as ort from "onnxruntime-node";
import { scanCciModel } from "../../model/scan_cci/model.ts";
import { randomScanCci } from "../../model/scan_cci/random.ts";
import { matmulProbeModel, PROBE_SHAPE } from "../tools/matmul_probe.ts";

const args = new Set(Deno.args);

async function convCase(
  backend: string,
  shape: number[],
  channels: number,
  iterations: number,
): Promise<number> {
  await tf.setBackend(backend);
  const x = tf.randomNormal(shape as [number, number, number, number]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, channels, channels]) as tf.Tensor4D;
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same")))
  );
  const once = async () => {
    const r = g([x, w]);
    await Promise.all(r.map((t) => t.data()));
    tf.dispose(r);
  };
  await once();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await once();
  tf.dispose([x, w]);
  return (performance.now() - t0) / iterations;
}

async function kernels() {
  const info = await initBackend();
  console.log(`backend: ${info.name} (${info.package})`);
  const rows: [string, string, number][] = [];
  const small = [2, 28, 28, 32], big = [2, 56, 56, 64];
  // Stock cpu first, before the project kernels are registered for cpu.
  await tf.setBackend("cpu");
  const stockKernels = ["Conv2DBackpropFilter", "Conv2DBackpropInput"].map((n) => tf.getKernel(n, "cpu")!);
  rows.push(["cpu stock", "2x28x28 32->32", await convCase("cpu", small, 32, 1)]);
  if (args.has("--stock-full")) rows.push(["cpu stock", "2x56x56 64->64", await convCase("cpu", big, 64, 1)]);
  registerFastConvGradients("cpu");
  rows.push(["cpu + project kernels", "2x28x28 32->32", await convCase("cpu", small, 32, 2)]);
  rows.push(["cpu + project kernels", "2x56x56 64->64", await convCase("cpu", big, 64, 2)]);
  if (info.name !== "cpu") {
    rows.push([
      `${info.name}${info.name === "wasm" ? " + project kernels" : ""}`,
      "2x28x28 32->32",
      await convCase(info.name, small, 32, 10),
    ]);
    rows.push([
      `${info.name}${info.name === "wasm" ? " + project kernels" : ""}`,
      "2x56x56 64->64",
      await convCase(info.name, big, 64, 10),
    ]);
  }
  // Leave cpu as tfjs shipped it for anything that runs after this benchmark.
  for (const k of stockKernels) {
    tf.unregisterKernel(k.kernelName, "cpu");
    tf.registerKernel(k);
  }
  await initBackend();
  const base = new Map(rows.filter((r) => r[0] === "cpu stock").map((r) => [r[1], r[2]]));
  console.log("\nconv 3x3 'same' fwd+bwd (dX, dW), ms/iteration, speed-up vs stock cpu on the same case:");
  for (const [variant, size, ms] of rows) {
    const b = base.get(size);
    console.log(
      `  ${variant.padEnd(26)} ${size.padEnd(16)} ${ms.toFixed(1).padStart(10)} ms  ${
        b ? `x${(b / ms).toFixed(1)}` : "(no stock run; --stock-full)"
      }`,
    );
  }
}

/** onnxruntime float32 MatMul GFLOP/s (2 intra-op threads, as bench:model), median of `runs` runs. */
async function matmulRate(runs = 5): Promise<number> {
  const [m, k, n] = PROBE_SHAPE;
  const w = new Float32Array(k * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const session = await ort.InferenceSession.create(matmulProbeModel(w), {
    graphOptimizationLevel: "all",
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    executionMode: "sequential",
    executionProviders: ["cpu"],
  });
  const a = new ort.Tensor("float32", new Float32Array(m * k).fill(0.25), [m, k]);
  try {
    for (let i = 0; i < 2; i++) await session.run({ a });
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await session.run({ a });
      rates.push((2 * m * k * n) / ((performance.now() - t) * 1e6));
    }
    return rates.sort((x, y) => x - y)[Math.floor(runs / 2)];
  } finally {
    await session.release();
  }
}

/** Graph-counted forward FLOPs of one 224x224 image at `width` (model/scan_cci/model.ts). */
function forwardFlops(width: number): number {
  return scanCciModel(randomScanCci({ width, style: "test" }), { width, classes: 7 }).flopsPerImage;
}

async function throughput(width: number, batchSize: number, steps: number, workers: "auto" | number) {
  const fwd = forwardFlops(width);
  const before = await matmulRate();
  const dir = await Deno.makeTempDir();
  const times: number[] = [];
  try {
    const config = parseConfig({
      model: { widthDivisor: width },
      epochs: 1,
      batchSize,
      workers,
      stepsPerEpoch: steps,
      sampler: "uniform",
      backbone: { init: "none" },
      checkpoint: { dir },
    });
    const r = await fit(config, {
      data: syntheticShapes({ count: batchSize * steps }),
      saveCheckpoints: false,
      onProgress: () => times.push(performance.now()),
    });
    const ips = ((times.length - 2) * batchSize) / ((times.at(-1)! - times[1]) / 1000);
    const after = await matmulRate();
    const useful = (3 * fwd * ips) / 1e9;
    const mm = (before + after) / 2;
    console.log(
      `  width 1/${String(width).padEnd(3)} batch ${String(batchSize).padEnd(3)} ${
        ips.toFixed(2).padStart(8)
      } images/s  ${(fwd / 1e9).toFixed(3).padStart(7)} GFLOPs fwd  ${
        useful.toFixed(2).padStart(6)
      } useful GFLOP/s  ` +
        `MatMul ${mm.toFixed(1)} GFLOP/s  ratio ${
          ((100 * useful) / mm).toFixed(1)
        }%  (${r.backend}, ${r.workers} worker${r.workers === 1 ? "" : "s"}, ${steps - 1} timed steps)`,
    );
    return ips;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (!args.has("--skip-kernels")) await kernels();
else await initBackend();
console.log(
  "\ntraining throughput (synthetic 224x224 data, augmentation on, after 2 warm-up steps; useful = 3 x forward FLOPs):",
);
// Each width on the main thread (workers 1), then data-parallel on every core (train/parallel.ts), so the
// speed-up is a ratio from one run. Full width runs batch 2 on the main thread (batch 4 exceeds the wasm heap
// there) and batch 4 data-parallel, i.e. 2 images per worker; the first two steps of each run are warm-up
// (every worker builds its kernels for the shapes it sees).
const runs: { width: number; batch: [number, number]; steps: number }[] = [
  { width: 16, batch: [16, 16], steps: 10 },
  { width: 4, batch: [4, 4], steps: 7 },
];
if (!args.has("--skip-full")) runs.push({ width: 1, batch: [2, 4], steps: 5 });
for (const { width, batch, steps } of runs) {
  const one = await throughput(width, batch[0], steps, 1);
  const all = await throughput(width, batch[1], steps, "auto");
  console.log(`  width 1/${width}: data-parallel speed-up x${(all / one).toFixed(2)}`);
}
