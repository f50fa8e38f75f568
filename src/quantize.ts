/**
 * `deno task model:quantize --model MANIFEST --calibration DIR --out DIR [--samples N] [--selection K] [--seed S]
 * [--target-agreement 0.99] [--max-float 4]`: static INT8
 * (QDQ) of an expression model. Draws N images of DIR (seeded shuffle of every .png/.jpg below it), preprocesses
 * each exactly as the manifest says (whole image as the crop, as with detect=false), runs a copy of the model
 * with its intermediate tensors as extra outputs to take min/max ranges, rewrites the graph with
 * model/quantize/. Mixed precision: while argmax agreement with fp32 on K further images (the selection set)
 * is below `--target-agreement`, the weighted node whose float32 copy raises it most is left unquantized, up to
 * `--max-float` nodes (a greedy sensitivity search). Then it measures agreement on N more images, used for
 * nothing else, and writes `<file>-int8.onnx` plus a manifest `<id>-int8` (precision "int8", calibration set
 * name, method, float32 nodes, agreement).
 */
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { decodeImage } from "./image.ts";
import { prepareFaceInput } from "./faces/prepare.ts";
import { openGraph, readManifest } from "./session.ts";
import { servedOutputs } from "./registry.ts";
import { toTensor } from "../model/preprocess.ts";
import { type Manifest, sha256Hex } from "../model/manifest.ts";
import { foldBatchNorms } from "../model/quantize/fold.ts";
import { nodeKey, planQuantization, readOnnx, writeOnnx } from "../model/quantize/graph.ts";
import { RangeObserver, withObservedOutputs } from "../model/quantize/observe.ts";
import { quantizeQdq } from "../model/quantize/qdq.ts";

/** What to quantize and how; every field but the three paths has a default. */
export interface QuantizeOptions {
  manifestPath: string;
  calibrationDir: string;
  outDir: string;
  /** Calibration images (and as many held-out images for the agreement). Default 200. */
  samples?: number;
  /**
   * Images of the mixed-precision selection set (default `samples`). Larger than `samples` so the search does
   * not fit its own few hundred argmaxes, while calibration keeps its size (min/max ranges widen with more).
   */
  selection?: number;
  seed?: number;
  batch?: number;
  intraOpNumThreads?: number;
  /**
   * Mixed precision: while argmax agreement with fp32 on a selection set is below this, leave float32 the one
   * more weighted node that raises it most (default 0.99, the bar), at most `maxFloatNodes` of them.
   */
  targetAgreement?: number;
  /** Most nodes mixed precision may leave float32 (default 4; 0 = quantize every weighted node). */
  maxFloatNodes?: number;
}

/** The written INT8 artifact. */
export interface QuantizeResult {
  manifestPath: string;
  onnxPath: string;
  manifest: Manifest;
}

async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await listImages(p));
    else if (/\.(png|jpe?g)$/i.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** Seeded Fisher-Yates (mulberry32), so a seed names one sample of a folder. */
function shuffle<T>(xs: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function tensorOf(path: string, m: Manifest): Promise<Float32Array> {
  const image = await decodeImage(await Deno.readFile(path));
  return toTensor(prepareFaceInput(image, null, m.input), m.input);
}

function batches(m: Manifest, tensors: Float32Array[], size: number) {
  const { width, height } = m.input.size;
  const per = 3 * width * height;
  const out: { data: Float32Array; dims: number[] }[] = [];
  for (let i = 0; i < tensors.length; i += size) {
    const part = tensors.slice(i, i + size);
    const data = new Float32Array(part.length * per);
    part.forEach((t, k) => data.set(t, k * per));
    const dims = m.input.layout === "NHWC"
      ? [part.length, height, width, 3]
      : [part.length, 3, height, width];
    out.push({ data, dims });
  }
  return out;
}

function scoreRows(data: Float32Array, n: number, logits: boolean): number[][] {
  const k = data.length / n;
  return Array.from({ length: n }, (_, i) => {
    const row = [...data.subarray(i * k, (i + 1) * k)];
    if (!logits) return row;
    const mx = Math.max(...row);
    const e = row.map((v) => Math.exp(v - mx));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

const argmax = (r: number[]) => r.indexOf(Math.max(...r));

/** Argmax agreement and the largest score change of `candidate` against fp32 scores `want` on `sets`. */
async function agreementOn(
  m: Manifest,
  candidate: Uint8Array,
  sets: { data: Float32Array; dims: number[] }[],
  want: number[][][],
  intraOpNumThreads?: number,
): Promise<{ argmax: number; maxDiff: number; meanDiff: number }> {
  const served = servedOutputs(m);
  const session = await openGraph(candidate, { intraOpNumThreads });
  let same = 0, n = 0, maxDiff = 0, sumDiff = 0;
  try {
    for (let j = 0; j < sets.length; j++) {
      const b = sets[j];
      const got = scoreRows(
        (await session.run({ [m.input.name]: b }, [served.scores.name]))[served.scores.name].data,
        b.dims[0],
        served.logits,
      );
      got.forEach((row, i) => {
        const a = want[j][i];
        if (argmax(a) === argmax(row)) same++;
        for (let k = 0; k < a.length; k++) {
          const d = Math.abs(a[k] - row[k]);
          maxDiff = Math.max(maxDiff, d);
          sumDiff += d;
        }
        n++;
      });
    }
  } finally {
    await session.release();
  }
  return { argmax: n ? same / n : 0, maxDiff, meanDiff: n ? sumDiff / n : 0 };
}

/** fp32 scores of `sets`, per batch and image. */
async function fp32Scores(
  m: Manifest,
  bytes: Uint8Array,
  sets: { data: Float32Array; dims: number[] }[],
  intraOpNumThreads?: number,
): Promise<number[][][]> {
  const served = servedOutputs(m);
  const session = await openGraph(bytes, { intraOpNumThreads });
  try {
    const out: number[][][] = [];
    for (const b of sets) {
      const r = await session.run({ [m.input.name]: b }, [served.scores.name]);
      out.push(scoreRows(r[served.scores.name].data, b.dims[0], served.logits));
    }
    return out;
  } finally {
    await session.release();
  }
}

/** Quantizes one model (see the module comment) and writes it next to its manifest in `outDir`. */
export async function quantizeModel(
  {
    manifestPath,
    calibrationDir,
    outDir,
    samples = 200,
    selection: selectionSize,
    seed = 0,
    batch = 8,
    intraOpNumThreads,
    targetAgreement = 0.99,
    maxFloatNodes = 4,
  }: QuantizeOptions,
): Promise<QuantizeResult> {
  const m = await readManifest(manifestPath);
  if (m.precision !== "fp32") {
    throw new Error(`Cannot quantize model "${m.id}": precision is ${m.precision}, expected fp32`);
  }
  const bytes = await Deno.readFile(join(dirname(manifestPath), m.file));
  const images = shuffle(await listImages(calibrationDir), seed);
  if (images.length < 2) {
    throw new Error(`Cannot quantize model "${m.id}": calibration folder "${calibrationDir}" has < 2 images`);
  }
  // Calibration, then (with mixed precision) a selection set, then the held-out agreement set: disjoint, so
  // the reported agreement is on images that chose nothing.
  const parts = maxFloatNodes > 0 ? 3 : 2;
  const nCal = Math.min(samples, Math.ceil(images.length / parts));
  // The selection set may take what the held-out set's `samples` leave (at least half of the rest).
  const rest = images.length - nCal;
  const nSel = parts === 3
    ? Math.min(selectionSize ?? samples, Math.max(Math.floor(rest / 2), rest - samples))
    : 0;
  const calib = await Promise.all(images.slice(0, nCal).map((p) => tensorOf(p, m)));
  const select = await Promise.all(images.slice(nCal, nCal + nSel).map((p) => tensorOf(p, m)));
  const held = await Promise.all(images.slice(nCal + nSel, nCal + nSel + samples).map((p) => tensorOf(p, m)));

  // BN folded first (model/quantize/fold.ts): the agreement below is still measured against the unfolded fp32.
  const { model } = foldBatchNorms(readOnnx(bytes));
  const plan = planQuantization(model);
  const probe = await openGraph(writeOnnx(withObservedOutputs(model, plan.observed)), { intraOpNumThreads });
  const observer = new RangeObserver();
  try {
    for (const b of batches(m, calib, batch)) {
      observer.observe(await probe.run({ [m.input.name]: b }, plan.observed));
    }
  } finally {
    await probe.release();
  }
  // Leaving nodes float32 only removes tensors from the plan, so the ranges of the full plan serve every choice.
  const build = (keep: ReadonlySet<string>) =>
    writeOnnx(
      quantizeQdq(model, observer.ranges, planQuantization(model, { keepFloat: keep })).model,
    );

  const keep = new Set<string>();
  let qBytes = build(keep);
  let selection: { samples: number; argmax: number } | undefined;
  if (select.length > 0) {
    const selSets = batches(m, select, batch);
    const selWant = await fp32Scores(m, bytes, selSets, intraOpNumThreads);
    let current = await agreementOn(m, qBytes, selSets, selWant, intraOpNumThreads);
    // Greedy sensitivity search: each round tries every still-quantized node in float32 and keeps the best.
    while (current.argmax < targetAgreement && keep.size < maxFloatNodes) {
      let best: { key: string; bytes: Uint8Array; r: typeof current } | null = null;
      for (const { node } of planQuantization(model, { keepFloat: keep }).nodes) {
        const key = nodeKey(node);
        const candidate = build(new Set([...keep, key]));
        const r = await agreementOn(m, candidate, selSets, selWant, intraOpNumThreads);
        if (
          !best || r.argmax > best.r.argmax || (r.argmax === best.r.argmax && r.meanDiff < best.r.meanDiff)
        ) best = { key, bytes: candidate, r };
      }
      // Progress is more agreement, or the same with clearly smaller score changes (200 argmaxes move in steps
      // of 0.5%, the mean score change is the finer signal).
      const better = best &&
        (best.r.argmax > current.argmax ||
          (best.r.argmax === current.argmax && best.r.meanDiff < 0.9 * current.meanDiff));
      if (!best || !better) break;
      keep.add(best.key);
      qBytes = best.bytes;
      current = best.r;
    }
    selection = { samples: select.length, argmax: current.argmax };
  }

  const heldSets = batches(m, held, batch);
  const heldRes = held.length
    ? await agreementOn(
      m,
      qBytes,
      heldSets,
      await fp32Scores(m, bytes, heldSets, intraOpNumThreads),
      intraOpNumThreads,
    )
    : { argmax: 0, maxDiff: 0 };
  const file = m.file.replace(/\.onnx$/, "") + "-int8.onnx";
  const manifest: Manifest = {
    ...m,
    id: `${m.id}-int8`,
    file,
    sha256: await sha256Hex(qBytes),
    bytes: qBytes.length,
    precision: "int8",
    quantization: {
      method: "qdq-static",
      weights: "int8-per-channel-symmetric",
      activations: "uint8-per-tensor",
      ranges: "minmax",
      parent: { id: m.id, sha256: m.sha256 },
      calibration: { set: basename(calibrationDir.replace(/\/+$/, "")), samples: calib.length, seed },
      agreement: {
        samples: held.length,
        argmax: heldRes.argmax,
        maxScoreDiff: heldRes.maxDiff,
      },
      ...(selection ? { floatNodes: [...keep], selection } : {}),
    },
  };
  await Deno.mkdir(outDir, { recursive: true });
  const onnxPath = join(outDir, file);
  const outManifest = join(outDir, `${m.id}-int8.manifest.json`);
  await Deno.writeFile(onnxPath, qBytes);
  await Deno.writeTextFile(outManifest, JSON.stringify(manifest, null, 2) + "\n");
  return { manifestPath: outManifest, onnxPath, manifest };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string" },
      calibration: { type: "string" },
      out: { type: "string" },
      samples: { type: "string", default: "200" },
      selection: { type: "string" },
      seed: { type: "string", default: "0" },
      "target-agreement": { type: "string", default: "0.99" },
      "max-float": { type: "string", default: "4" },
    },
  });
  if (!values.model || !values.calibration || !values.out) {
    console.error(
      "usage: deno task model:quantize --model MANIFEST --calibration DIR --out DIR [--samples N] [--selection K] [--seed S] [--target-agreement 0.99] [--max-float 4]",
    );
    Deno.exit(2);
  }
  const r = await quantizeModel({
    manifestPath: values.model,
    calibrationDir: values.calibration,
    outDir: values.out,
    samples: Number(values.samples),
    selection: values.selection === undefined ? undefined : Number(values.selection),
    seed: Number(values.seed),
    targetAgreement: Number(values["target-agreement"]),
    maxFloatNodes: Number(values["max-float"]),
  });
  console.log(`Wrote ${r.onnxPath} (${(r.manifest.bytes / 1e6).toFixed(2)} MB) and ${r.manifestPath}`);
  console.log(JSON.stringify({ id: r.manifest.id, quantization: r.manifest.quantization }));
}
