/**
 * SCAN+CCI CPU benchmark (deno task bench:model): builds the full-width random-seed model, then measures session
 * creation, RSS after load, img/s at batch 1 and 8 with 2 intra-op threads, and, in the same process with the same
 * threads, the machine's float32 MatMul GFLOP/s through onnxruntime. Efficiency = the model's achieved GFLOP/s
 * (graph-counted FLOPs x img/s) / the MatMul GFLOP/s, measured in alternating rounds so both see the same load
 * on a shared machine. Prints a table and one JSON line. Timings are medians.
 *
 *   deno task bench:model [--threads 2] [--seconds 4] [--fp16] [--model DIR/scan-cci.onnx]
 *   deno task bench:model --int8 [--calibration DIR] [--samples 32]
 *
 * With --int8 it instead quantizes the model (`quantizeModel`, calibrated on DIR, default FER2013 train) and
 * prints fp32 and INT8 images/s at batch 8 side by side, timed in alternating runs in one process, and their ratio.
 */
import * as ort from "onnxruntime-node";
import { parseArgs } from "node:util";
import { dirname } from "node:path";
import { writeArtifact } from "../../model/artifact.ts";
import { buildScanCci } from "../../model/scan_cci/build.ts";
import { randomScanCci } from "../../model/scan_cci/random.ts";
import { type Manifest, parseManifest } from "../../model/manifest.ts";
import { matmulProbeModel, PROBE_SHAPE } from "../tools/matmul_probe.ts";
import { quantizeModel } from "../../src/quantize.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    threads: { type: "string", default: "2" },
    seconds: { type: "string", default: "4" },
    fp16: { type: "boolean", default: false },
    model: { type: "string" },
    int8: { type: "boolean", default: false },
    calibration: { type: "string", default: "/work/shared/data/fer2013/train" },
    samples: { type: "string", default: "32" },
  },
});
const threads = Number(values.threads);
const seconds = Number(values.seconds);
const options: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: "all",
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  executionProviders: ["cpu"],
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Alternates one model run with MatMul probe runs of about the same duration until `budget` seconds have passed,
 * so both see the same machine load (it is shared); returns medians of the model time, the probe's GFLOP/s and
 * their per-round ratio.
 */
async function timeInterleaved(
  fn: () => Promise<unknown>,
  probe: Awaited<ReturnType<typeof matmulProbe>>,
  modelFlops: number,
  budget = seconds,
): Promise<{ ms: number; probeGflops: number; efficiency: number; runs: number }> {
  for (let i = 0; i < 2; i++) await fn();
  const ms: number[] = [];
  const probeGflops: number[] = [];
  const ratios: number[] = [];
  const end = performance.now() + budget * 1000;
  while (performance.now() < end || ms.length < 3) {
    const t = performance.now();
    await fn();
    const dt = performance.now() - t;
    let probeMs = 0;
    let probeRuns = 0;
    while (probeMs < dt / 2 || probeRuns < 1) {
      probeMs += await probe.run();
      probeRuns++;
    }
    const mm = (probe.flops * probeRuns) / (probeMs * 1e6);
    ms.push(dt);
    probeGflops.push(mm);
    ratios.push(modelFlops / (dt * 1e6) / mm);
  }
  return { ms: median(ms), probeGflops: median(probeGflops), efficiency: median(ratios), runs: ms.length };
}

/** A float32 MatMul session (weights as a constant, like a model's) and a runner timing one call in ms. */
async function matmulProbe(): Promise<{ flops: number; shape: string; run: () => Promise<number> }> {
  const [m, k, n] = PROBE_SHAPE;
  const w = new Float32Array(k * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const session = await ort.InferenceSession.create(matmulProbeModel(w), options);
  const a = new ort.Tensor("float32", new Float32Array(m * k).fill(0.25), [m, k]);
  for (let i = 0; i < 3; i++) await session.run({ a });
  return {
    flops: 2 * m * k * n,
    shape: `${m}x${k} @ ${k}x${n}`,
    async run() {
      const t = performance.now();
      await session.run({ a });
      return performance.now() - t;
    },
  };
}

/** Builds the full-width random-seed model into `dir`; the weights go out of scope before the session opens. */
async function buildRandom(dir: string): Promise<{ onnxPath: string; manifest: Manifest }> {
  const built = await buildScanCci({
    tensors: randomScanCci({ seed: 0 }),
    labels: "affwild2",
    fp16: values.fp16,
    source: "random-init:pytorch-defaults",
    trained: false,
    seed: 0,
  });
  const { onnxPath } = await writeArtifact(dir, built);
  return { onnxPath, manifest: built.manifest };
}

/** An already built model (`--model DIR/scan-cci.onnx` next to its manifest): RSS then excludes the builder. */
async function existing(onnxPath: string): Promise<{ onnxPath: string; manifest: Manifest }> {
  const path = onnxPath.replace(/\.onnx$/, ".manifest.json");
  return { onnxPath, manifest: parseManifest(JSON.parse(await Deno.readTextFile(path)), path) };
}

/**
 * fp32 against INT8 at batch 8: one run of each in turn until the budget is spent (both see the same load on a
 * shared machine); prints medians, the ratio and the quantizer's agreement, then one JSON line.
 */
async function int8SideBySide(onnxPath: string): Promise<void> {
  const manifestPath = onnxPath.replace(/\.onnx$/, ".manifest.json");
  const q = await quantizeModel({
    manifestPath,
    calibrationDir: values.calibration,
    outDir: dirname(onnxPath),
    samples: Number(values.samples),
    seed: 0,
    intraOpNumThreads: threads,
  });
  const fp32 = await ort.InferenceSession.create(onnxPath, options);
  const int8 = await ort.InferenceSession.create(q.onnxPath, options);
  const batch = 8;
  const input = new ort.Tensor("float32", new Float32Array(batch * 3 * 224 * 224).fill(0.1), [
    batch,
    3,
    224,
    224,
  ]);
  for (let i = 0; i < 2; i++) await Promise.all([fp32.run({ input }), int8.run({ input })]);
  const ms: { fp32: number[]; int8: number[] } = { fp32: [], int8: [] };
  const end = performance.now() + 2 * seconds * 1000;
  while (performance.now() < end || ms.fp32.length < 3) {
    for (const [name, s] of [["fp32", fp32], ["int8", int8]] as const) {
      const t = performance.now();
      await s.run({ input });
      ms[name].push(performance.now() - t);
    }
  }
  await fp32.release();
  await int8.release();
  const ips = (xs: number[]) => (1000 * batch) / median(xs);
  const a = q.manifest.quantization!.agreement;
  console.log(`batch ${batch}, ${threads} threads, ${ms.fp32.length} alternating rounds (medians)`);
  console.log(
    `fp32  ${ips(ms.fp32).toFixed(2)} img/s  (${q.manifest.quantization!.parent.sha256.slice(0, 8)})`,
  );
  console.log(`int8  ${ips(ms.int8).toFixed(2)} img/s  (${(q.manifest.bytes / 1e6).toFixed(1)} MB)`);
  console.log(`ratio int8/fp32  ${(ips(ms.int8) / ips(ms.fp32)).toFixed(2)}x`);
  console.log(
    `argmax agreement  ${
      (100 * a.argmax).toFixed(1)
    }% on ${a.samples} held-out images of ${values.calibration}`,
  );
  console.log(JSON.stringify({
    bench: "model-int8",
    threads,
    batch,
    fp32ImgPerS: +ips(ms.fp32).toFixed(3),
    int8ImgPerS: +ips(ms.int8).toFixed(3),
    ratio: +(ips(ms.int8) / ips(ms.fp32)).toFixed(3),
    agreement: a,
  }));
}

const dir = await Deno.makeTempDir({ prefix: "bench-model-" });
if (values.int8) {
  try {
    const { onnxPath } = values.model ? await existing(values.model) : await buildRandom(dir);
    await int8SideBySide(onnxPath);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  Deno.exit(0);
}
try {
  let t = performance.now();
  const { onnxPath, manifest } = values.model ? await existing(values.model) : await buildRandom(dir);
  const buildMs = values.model ? 0 : performance.now() - t;
  const rssBefore = Deno.memoryUsage().rss;
  t = performance.now();
  const session = await ort.InferenceSession.create(onnxPath, options);
  const createMs = performance.now() - t;
  const rssAfterLoad = Deno.memoryUsage().rss;

  const gflops = manifest.gflops;
  const probe = await matmulProbe();
  const perBatch: Record<number, { ms: number; imgPerS: number; runs: number; mm: number; eff: number }> = {};
  for (const batch of [1, 8]) {
    const data = new Float32Array(batch * 3 * 224 * 224).fill(0.1);
    const input = new ort.Tensor("float32", data, [batch, 3, 224, 224]);
    const r = await timeInterleaved(() => session.run({ input }), probe, gflops * 1e9 * batch);
    perBatch[batch] = {
      ms: r.ms,
      imgPerS: (1000 * batch) / r.ms,
      runs: r.runs,
      mm: r.probeGflops,
      eff: r.efficiency,
    };
  }
  await session.release();
  const mm = { shape: probe.shape, gflops: median([perBatch[1].mm, perBatch[8].mm]) };
  const eff = (b: number) => perBatch[b].eff;
  const rows: [string, string][] = [
    ["model", `scan-cci ${manifest.precision}, ${(manifest.bytes / 1e6).toFixed(1)} MB`],
    ["GFLOPs per image (graph-counted)", gflops.toFixed(2)],
    ["intra-op threads", String(threads)],
    ["build + write (ms)", buildMs.toFixed(0)],
    ["session create (ms)", createMs.toFixed(0)],
    ["RSS after load (MB)", (rssAfterLoad / 1e6).toFixed(0)],
    ["RSS added by load (MB)", ((rssAfterLoad - rssBefore) / 1e6).toFixed(0)],
    ["batch 1: ms / img/s", `${perBatch[1].ms.toFixed(1)} / ${perBatch[1].imgPerS.toFixed(2)}`],
    ["batch 8: ms / img/s", `${perBatch[8].ms.toFixed(1)} / ${perBatch[8].imgPerS.toFixed(2)}`],
    [
      `MatMul ${mm.shape} GFLOP/s`,
      `${perBatch[1].mm.toFixed(1)} (b1 rounds) / ${perBatch[8].mm.toFixed(1)} (b8)`,
    ],
    ["rounds batch 1 / batch 8", `${perBatch[1].runs} / ${perBatch[8].runs}`],
    ["efficiency batch 1", `${(100 * eff(1)).toFixed(0)}%`],
    ["efficiency batch 8", `${(100 * eff(8)).toFixed(0)}%`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  console.log(JSON.stringify({
    bench: "model",
    precision: manifest.precision,
    threads,
    gflopsPerImage: gflops,
    createMs: Math.round(createMs),
    rssMb: Math.round(rssAfterLoad / 1e6),
    batch1: { ms: +perBatch[1].ms.toFixed(2), imgPerS: +perBatch[1].imgPerS.toFixed(3) },
    batch8: { ms: +perBatch[8].ms.toFixed(2), imgPerS: +perBatch[8].imgPerS.toFixed(3) },
    matmulGflops: +mm.gflops.toFixed(1),
    efficiency1: +eff(1).toFixed(3),
    efficiency8: +eff(8).toFixed(3),
  }));
} finally {
  await Deno.remove(dir, { recursive: true });
}
