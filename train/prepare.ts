/**
 * `deno task train prepare`: turns datasets that ship full images or face boxes (AffectNet, ExpW, RAF-DB
 * original, folders) into aligned 224x224 crops plus a JSONL manifest, as the paper aligned everything but
 * Aff-Wild2 (it used MTCNN; we use the project's face pipeline, src/faces/). The face step is one injected
 * function, so the bookkeeping (resume, shards, merge) is tested with a plain crop-by-box aligner.
 *
 * Safety: each crop is written to a temp name and renamed before its manifest line is appended in one write, so
 * a manifest line always points at a complete file; a torn last line (crash mid-write) is cut off on restart.
 */
import { join, relative } from "node:path";
import type { RawPixels } from "../model/preprocess.ts";
import { createFacePipeline } from "../src/mod.ts";
import { decodeToRgb, encodeImage } from "./data/images.ts";
import { parsePreparedLine, type PreparedEntry } from "./data/prepared.ts";
import { DEFAULT_LABELS, type Sample, splitLines } from "./data/sample.ts";

/** The face step: image bytes -> an aligned 224x224 RGB crop, or `{ skip }` when no usable face is found. */
export type AlignFn = (
  bytes: Uint8Array,
  sample: Sample,
) => Promise<{ pixels: RawPixels; method: string } | { skip: string }>;

/** A `--shard i/N` partition (0 <= index < count). */
export interface Shard {
  index: number;
  count: number;
}

/** Options of {@link prepareDataset}. */
export interface PrepareOptions {
  outDir: string;
  align: AlignFn;
  /** Class names for the manifest (labels are stored by name). Default the canonical seven. */
  labels?: readonly string[];
  /** Dataset root; sources are keyed relative to it so a moved dataset still resumes. */
  root?: string;
  shard?: Shard;
  format?: "jpg" | "png";
  concurrency?: number;
  /** Called once per finished item (written, skipped or already done). */
  onItem?: () => void;
}

/** Counts of one prepare run. */
export interface PrepareResult {
  manifest: string;
  written: number;
  alreadyDone: number;
  skipped: { reason: string; count: number }[];
  /** Samples that belong to other shards. */
  otherShards: number;
}

/** A stable key for a sample: sha256 of dataset, root-relative source and box, 20 hex digits. */
export async function sampleKey(sample: Sample, root = ""): Promise<string> {
  const source = root ? relative(root, sample.source) : sample.source;
  const text = `${sample.dataset}\n${source}\n${sample.box ? JSON.stringify(sample.box) : ""}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest).slice(0, 10), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Which shard a key belongs to: its first 32 bits modulo the shard count (deterministic, balanced). */
export function shardOf(key: string, count: number): number {
  return parseInt(key.slice(0, 8), 16) % count;
}

/** Parses `i/N` (0-based i). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const shard = m ? { index: Number(m[1]), count: Number(m[2]) } : null;
  if (!shard || shard.count < 1 || shard.index >= shard.count) {
    throw new Error(`Cannot parse shard "${text}": expected i/N with 0 <= i < N, e.g. 0/4`);
  }
  return shard;
}

/** The manifest file a shard appends to (`manifest.jsonl` when unsharded). */
export function manifestName(shard?: Shard): string {
  return !shard || shard.count === 1
    ? "manifest.jsonl"
    : `manifest.shard-${shard.index}-of-${shard.count}.jsonl`;
}

/** Reads a manifest's complete lines, cutting off a torn last line left by a crash. Returns the keys done. */
async function recoverManifest(file: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return new Set();
    throw err;
  }
  const end = text.lastIndexOf("\n") + 1;
  if (end < text.length) await Deno.truncate(file, new TextEncoder().encode(text.slice(0, end)).length);
  const done = new Set<string>();
  splitLines(text.slice(0, end)).forEach((line, i) => {
    if (line.trim()) done.add(parsePreparedLine(line, file, i + 1).key);
  });
  return done;
}

/**
 * Prepares the samples of this shard into `outDir/images/<dataset>/<key>.<format>` and appends one manifest line
 * per item. Items already in the manifest are skipped, so an interrupted run continues where it stopped.
 * Per-item failures (undecodable image, no face) become `skip` lines and are counted, never fatal.
 */
export async function prepareDataset(
  samples: readonly Sample[],
  { outDir, align, labels = DEFAULT_LABELS, root = "", shard, format = "jpg", concurrency = 4, onItem }:
    PrepareOptions,
): Promise<PrepareResult> {
  await Deno.mkdir(outDir, { recursive: true });
  const manifest = join(outDir, manifestName(shard));
  const done = await recoverManifest(manifest);
  const file = await Deno.open(manifest, { append: true, create: true });
  const encoder = new TextEncoder();
  const skipped = new Map<string, number>();
  let written = 0, alreadyDone = 0, otherShards = 0, next = 0;
  const keys = await Promise.all(samples.map((s) => sampleKey(s, root)));
  const mine = samples.map((_, i) => i).filter((i) =>
    !shard || shardOf(keys[i], shard.count) === shard.index
  );
  otherShards = samples.length - mine.length;

  function append(entry: PreparedEntry) {
    // One write of a whole line through an O_APPEND handle; JS runs this synchronously per call.
    file.writeSync(encoder.encode(JSON.stringify(entry) + "\n"));
  }

  async function one(i: number) {
    const sample = samples[i], key = keys[i];
    const base = {
      key,
      label: labels[sample.label],
      dataset: sample.dataset,
      split: sample.split,
      source: root ? relative(root, sample.source) : sample.source,
    };
    if (done.has(key)) {
      alreadyDone++;
      return;
    }
    let result: Awaited<ReturnType<AlignFn>>;
    try {
      const bytes = sample.pixels ? new Uint8Array(0) : await Deno.readFile(sample.path);
      result = await align(bytes, sample);
    } catch (err) {
      result = { skip: `unreadable: ${(err as Error).message.split("\n")[0]}` };
    }
    if ("skip" in result) {
      const reason = result.skip.startsWith("unreadable") ? "unreadable image" : result.skip;
      skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
      append({ ...base, path: "", skip: result.skip });
      return;
    }
    const rel = join("images", sample.dataset, `${key}.${format}`);
    const tmp = join(outDir, `${rel}.tmp`);
    await Deno.mkdir(join(outDir, "images", sample.dataset), { recursive: true });
    await Deno.writeFile(tmp, await encodeImage(result.pixels, format));
    await Deno.rename(tmp, join(outDir, rel));
    append({ ...base, path: rel, method: result.method });
    written++;
  }

  async function worker() {
    while (next < mine.length) {
      const i = mine[next++];
      await one(i);
      onItem?.();
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  } finally {
    file.close();
  }
  return {
    manifest,
    written,
    alreadyDone,
    skipped: [...skipped].map(([reason, count]) => ({ reason, count })),
    otherShards,
  };
}

/**
 * Merges `manifest.shard-*.jsonl` (and an existing `manifest.jsonl`) into `manifest.jsonl`, one line per key,
 * sorted by key so the result does not depend on shard timing. Written to a temp file and renamed.
 */
export async function mergeShards(
  outDir: string,
): Promise<{ manifest: string; entries: number; shards: number }> {
  const files: string[] = [];
  for await (const e of Deno.readDir(outDir)) {
    if (e.isFile && /^manifest(\.shard-\d+-of-\d+)?\.jsonl$/.test(e.name)) files.push(e.name);
  }
  const shardFiles = files.filter((f) => f !== "manifest.jsonl");
  if (shardFiles.length === 0) throw new Error(`Cannot merge: no manifest.shard-*.jsonl in "${outDir}"`);
  const byKey = new Map<string, string>();
  for (const name of files.sort()) {
    const path = join(outDir, name);
    const text = await Deno.readTextFile(path);
    const complete = text.slice(0, text.lastIndexOf("\n") + 1);
    splitLines(complete).forEach((line, i) => {
      if (!line.trim()) return;
      const e = parsePreparedLine(line, path, i + 1);
      // A written crop wins over a skip line for the same key (e.g. a retried shard).
      if (!byKey.has(e.key) || (JSON.parse(byKey.get(e.key)!).skip && !e.skip)) byKey.set(e.key, line);
    });
  }
  const lines = [...byKey.keys()].sort().map((k) => byKey.get(k)!);
  const manifest = join(outDir, "manifest.jsonl");
  await Deno.writeTextFile(`${manifest}.tmp`, lines.map((l) => l + "\n").join(""));
  await Deno.rename(`${manifest}.tmp`, manifest);
  return { manifest, entries: lines.length, shards: shardFiles.length };
}

/**
 * The fallback face step: crop the sample's box (or take the whole image) and resize to 224x224. Used in tests,
 * for already-aligned sources (RAF-DB aligned, folders of crops), and with `--align box`.
 */
export function cropAligner({ size = 224, margin = 0 } = {}): AlignFn {
  return async (bytes, sample) => {
    if (sample.pixels) throw new Error("Cannot prepare FER2013 pixels: they are already aligned crops");
    return { pixels: await decodeToRgb(bytes, { size, margin, box: sample.box }), method: "box" };
  };
}

function iou(a: { x: number; y: number; width: number; height: number }, b: typeof a): number {
  const x0 = Math.max(a.x, b.x), y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width), y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * The real face step on the engine's face pipeline (src/mod.ts): detect, then take the face that best overlaps the sample's box (IoU >= 0.3)
 * or, without a box, the highest-scoring face; its five-point aligned 224x224 crop is returned. When the
 * detector misses but the dataset gives a box, the box crop is used (`method: "box"`) unless `fallback` is
 * "skip". Opens the face models once (`deno task models` builds them).
 */
export async function faceAligner(
  { modelDir = "model", minConfidence = 0.3, fallback = "crop" as "crop" | "skip" } = {},
): Promise<{ align: AlignFn; release: () => Promise<void> }> {
  const pipeline = await createFacePipeline({ modelDir });
  const crop = cropAligner();
  const align: AlignFn = async (bytes, sample) => {
    if (sample.pixels) return { skip: "inline pixels (FER2013) are already aligned" };
    const { faces } = await pipeline.detectFaces(bytes, { minConfidence, landmarks: true });
    let best = sample.box ? null : faces[0] ?? null;
    if (sample.box) {
      let bestIou = 0.3;
      for (const f of faces) {
        const v = iou(f.box, sample.box);
        if (v >= bestIou) [best, bestIou] = [f, v];
      }
    }
    if (best) return { pixels: best.aligned224, method: best.landmarks5 ? "aligned" : "box" };
    if (sample.box && fallback === "crop") return await crop(bytes, sample);
    return { skip: sample.box ? "no detected face matches the box" : "no face found" };
  };
  return { align, release: () => pipeline.release() };
}
