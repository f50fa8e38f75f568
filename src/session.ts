/**
 * The only door to onnxruntime-node in serving code: opens a model from its manifest, checks the ONNX file
 * against the manifest (sha256, input/output names and shapes), picks the execution provider with an explicit
 * fallback (onnxruntime's CUDA provider throws instead of falling back), and runs batches on plain typed arrays.
 */
import * as ort from "onnxruntime-node";
import { dirname, join } from "node:path";
import { type Manifest, parseManifest, sha256Hex } from "../model/manifest.ts";

import type { ExecutionProvider } from "./providers.ts";

/** Re-exported from src/providers.ts, the one list of providers. */
export type { ExecutionProvider };

/** How to open a model: provider, threads, checksum verification. */
export interface OpenOptions {
  /** Preferred provider; `cuda` falls back to `cpu` when it cannot start, and says why. */
  executionProvider?: ExecutionProvider;
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  /**
   * Let the session's threads spin between runs (onnxruntime's default, `true`). A server with several sessions on
   * few cores does better with `false`: idle spinning threads take the cores the busy session and the event loop
   * need.
   */
  allowSpinning?: boolean;
  /**
   * Let onnxruntime plan the session's buffers per input shape and keep every plan (its default, `true`). With
   * batch sizes that change run to run (faces per image) the plans pile up; `false` allocates as it runs.
   */
  memoryPattern?: boolean;
  /** Verify the file's sha256 against the manifest (reads the whole file once). */
  verifyChecksum?: boolean;
  /**
   * Open and run in the one shared inference `Worker` (default false). onnxruntime-node runs a model
   * synchronously on its caller's thread, so on the main thread each run blocks the event loop. The worker
   * starts with the first such session and ends with the last one released.
   */
  worker?: boolean;
}

let shared:
  | {
    w: Worker;
    pending: Map<number, [(v: unknown) => void, (e: Error) => void]>;
    next: number;
    /** Sessions open or opening in it: at 0 the worker ends, so it never outlives its last session. */
    users: number;
  }
  | undefined;

/** The shared worker, started on first use; answers match requests by id. */
function sharedWorker(): NonNullable<typeof shared> {
  if (shared) return shared;
  const w = new Worker(new URL("./session_worker.ts", import.meta.url), { type: "module" });
  const pending = new Map<number, [(v: unknown) => void, (e: Error) => void]>();
  const entry = { w, pending, next: 1, users: 0 };
  w.onmessage = (e) => {
    const p = pending.get(e.data.id);
    if (!p) return;
    pending.delete(e.data.id);
    if (e.data.err) p[1](new Error(e.data.err));
    else p[0](e.data.ok);
  };
  // A crashed worker fails what was waiting on it; the next session starts a new one.
  w.onerror = (e) => {
    e.preventDefault();
    const err = new Error(`Cannot run model: the inference worker failed: ${e.message}`);
    for (const [, reject] of pending.values()) reject(err);
    pending.clear();
    if (shared === entry) shared = undefined;
    w.terminate();
  };
  shared = entry;
  return entry;
}

/** One request to the shared worker. */
function call(msg: Record<string, unknown>): Promise<unknown> {
  const s = sharedWorker();
  const id = s.next++;
  return new Promise((resolve, reject) => {
    s.pending.set(id, [resolve, reject]);
    s.w.postMessage({ ...msg, id });
  });
}

/** Whether the shared inference worker runs, and how many sessions it holds (for tests and readiness details). */
export function inferenceWorkerState(): { running: boolean; sessions: number } {
  return { running: !!shared, sessions: shared?.users ?? 0 };
}

/** One session fewer in the shared worker; the last one out terminates it. */
function leaveWorker(s: NonNullable<typeof shared>) {
  s.users--;
  if (s.users > 0) return;
  if (shared === s) shared = undefined;
  s.w.terminate();
}

/**
 * A release that runs once: several owners may release the same session (a face pipeline and the registry that
 * holds it), and onnxruntime throws on a second dispose.
 */
function once(release: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= release());
}

/** A dense float32 tensor as plain data. */
export interface TensorData {
  data: Float32Array;
  dims: number[];
}

/** An opened model: its manifest, provider and a batch runner on plain typed arrays. */
export interface ModelSession {
  manifest: Manifest;
  /** Absolute path of the manifest this session was opened from. */
  manifestPath: string;
  provider: ExecutionProvider;
  /** Why the preferred provider was not used, if it was not. */
  fallbackReason?: string;
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** Runs one batch; feeds and results are float32 (float16 outputs are widened). */
  run(feeds: Record<string, TensorData>, outputs?: string[]): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

/** Reads and validates `<name>.manifest.json`. */
export async function readManifest(manifestPath: string): Promise<Manifest> {
  let text: string;
  try {
    text = await Deno.readTextFile(manifestPath);
  } catch (err) {
    throw new Error(`Cannot read manifest "${manifestPath}": ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot read manifest "${manifestPath}": invalid JSON (${(err as Error).message})`);
  }
  return parseManifest(json, manifestPath);
}

function sameShape(
  actual: readonly (number | string | undefined)[],
  expected: readonly (number | string)[],
): boolean {
  if (actual.length === 0) return true; // shape unknown in the file: nothing to compare
  return actual.length === expected.length &&
    expected.every((d, i) => typeof d === "string" || typeof actual[i] !== "number" || actual[i] === d);
}

function contractProblems(session: ort.InferenceSession, manifest: Manifest): string[] {
  const problems: string[] = [];
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
  const input = inputs.get(manifest.input.name);
  if (!input) {
    problems.push(`input "${manifest.input.name}" is missing (file has ${[...inputs.keys()].join(", ")})`);
  } else if (input.isTensor && !sameShape(input.shape, manifest.input.shape)) {
    problems.push(`input is [${input.shape.join(",")}], expected [${manifest.input.shape.join(",")}]`);
  }
  for (const o of manifest.outputs) {
    const m = outputs.get(o.name);
    if (!m) problems.push(`output "${o.name}" is missing (file has ${[...outputs.keys()].join(", ")})`);
    else if (m.isTensor && !sameShape(m.shape, o.shape)) {
      problems.push(`output "${o.name}" is [${m.shape.join(",")}], expected [${o.shape.join(",")}]`);
    }
  }
  return problems;
}

async function createSession(
  bytes: Uint8Array,
  provider: ExecutionProvider,
  { intraOpNumThreads, interOpNumThreads, allowSpinning, memoryPattern }: OpenOptions,
): Promise<ort.InferenceSession> {
  // A failed CUDA attempt makes onnxruntime print raw `[E:onnxruntime:...]` lines on stderr before we log the
  // fallback as JSON; the environment log level (read once, at the first session) silences them for the process.
  if (provider === "cuda") ort.env.logLevel = "fatal";
  return await ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    ...(memoryPattern !== undefined ? { enableMemPattern: memoryPattern } : {}),
    // onnxruntime-node rejects an explicit `undefined` ("must be a number"): pass only what was given.
    ...(intraOpNumThreads !== undefined ? { intraOpNumThreads } : {}),
    ...(interOpNumThreads !== undefined ? { interOpNumThreads } : {}),
    logSeverityLevel: provider === "cuda" ? 4 : 3,
    // Session config entries (onnxruntime_session_options_config_keys.h); the Node binding takes them as `extra`.
    ...(allowSpinning === false
      ? { extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } } }
      : {}),
  });
}

/**
 * Opens the model described by a manifest. Throws one message listing every mismatch between the ONNX file and
 * its manifest, e.g. `Cannot load model "scan-cci.onnx": input is [1,3,112,112], expected [N,3,224,224]`.
 */
export async function openModel(
  manifestPath: string,
  {
    executionProvider = "cpu",
    intraOpNumThreads,
    interOpNumThreads,
    allowSpinning,
    memoryPattern,
    verifyChecksum = true,
    worker,
  }: OpenOptions = {},
): Promise<ModelSession> {
  if (worker) {
    const opts = {
      executionProvider,
      intraOpNumThreads,
      interOpNumThreads,
      allowSpinning,
      memoryPattern,
      verifyChecksum,
    };
    const s = sharedWorker();
    s.users++;
    // deno-lint-ignore no-explicit-any
    let r: any;
    try {
      r = await call({ op: "open", path: manifestPath, opts });
    } catch (err) {
      leaveWorker(s);
      throw err;
    }
    let released = false;
    return {
      manifest: r.manifest,
      manifestPath,
      provider: r.provider,
      fallbackReason: r.fallbackReason,
      inputNames: r.inputNames,
      outputNames: r.outputNames,
      run: (feeds, outputs) =>
        call({ op: "run", sid: r.sid, feeds, outputs }) as Promise<Record<string, TensorData>>,
      release: async () => {
        if (released) return;
        released = true;
        try {
          // A worker that already crashed has nothing left to release.
          if (shared === s) await call({ op: "release", sid: r.sid });
        } finally {
          leaveWorker(s);
        }
      },
    };
  }
  const manifest = await readManifest(manifestPath);
  const file = join(dirname(manifestPath), manifest.file);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (err) {
    throw new Error(`Cannot load model "${manifest.file}": ${(err as Error).message}`);
  }
  if (verifyChecksum) {
    const sum = await sha256Hex(bytes);
    if (sum !== manifest.sha256) {
      throw new Error(
        `Cannot load model "${manifest.file}": sha256 is ${sum}, manifest says ${manifest.sha256}`,
      );
    }
  }
  let provider = executionProvider;
  let fallbackReason: string | undefined;
  let session: ort.InferenceSession;
  try {
    session = await createSession(bytes, provider, {
      intraOpNumThreads,
      interOpNumThreads,
      allowSpinning,
      memoryPattern,
    });
  } catch (err) {
    if (provider === "cpu") {
      throw new Error(`Cannot load model "${manifest.file}": ${(err as Error).message}`);
    }
    fallbackReason = `${provider} unavailable: ${(err as Error).message.split("\n")[0]}`;
    provider = "cpu";
    session = await createSession(bytes, provider, {
      intraOpNumThreads,
      interOpNumThreads,
      allowSpinning,
      memoryPattern,
    });
  }
  const problems = contractProblems(session, manifest);
  if (problems.length) {
    await session.release();
    throw new Error(`Cannot load model "${manifest.file}": ${problems.join("; ")}`);
  }
  return {
    manifest,
    manifestPath,
    provider,
    fallbackReason,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: (feeds, outputs) => runFloat(session, feeds, outputs),
    release: once(() => session.release()),
  };
}

async function runFloat(
  session: ort.InferenceSession,
  feeds: Record<string, TensorData>,
  outputs?: string[],
): Promise<Record<string, TensorData>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) {
    ortFeeds[name] = new ort.Tensor("float32", t.data, t.dims);
  }
  const result = outputs ? await session.run(ortFeeds, outputs) : await session.run(ortFeeds);
  const out: Record<string, TensorData> = {};
  for (const [name, t] of Object.entries(result)) {
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
    out[name] = { data, dims: t.dims.map(Number) };
    t.dispose();
  }
  return out;
}

/** A session on ONNX bytes that have no manifest yet (the quantizer's calibration and agreement runs). */
export interface GraphSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, TensorData>, outputs?: string[]): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

/**
 * Opens ONNX bytes on the CPU provider without a manifest contract: for tools that build a graph and must run
 * it before it has one (calibration copies with extra outputs, freshly quantized models).
 */
export async function openGraph(
  bytes: Uint8Array,
  { intraOpNumThreads, interOpNumThreads }: Pick<OpenOptions, "intraOpNumThreads" | "interOpNumThreads"> = {},
): Promise<GraphSession> {
  let session: ort.InferenceSession;
  try {
    session = await createSession(bytes, "cpu", { intraOpNumThreads, interOpNumThreads });
  } catch (err) {
    throw new Error(`Cannot load graph: ${(err as Error).message}`);
  }
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: (feeds, outputs) => runFloat(session, feeds, outputs),
    release: once(() => session.release()),
  };
}

/** Execution providers this onnxruntime build knows about (CUDA may still fail to start). */
export function availableProviders(): string[] {
  return ort.listSupportedBackends().map((b) => b.name);
}
