/**
 * Test fixtures for the API: a tiny expression model written with the project's ONNX builder (28x28 input, a
 * real `logits` output and optionally a SCAN-like `attention_map`), with its manifest, so API tests run real
 * onnxruntime sessions in milliseconds. Its weights are fixed numbers, not trained: the manifest says so.
 */
import { join } from "node:path";
import {
  DataType,
  encodeModel,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
} from "../../model/onnx/helper.ts";
import { sha256Hex } from "../../model/manifest.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger, type Logger } from "../../src/logger.ts";
import { type RunningServer, startServer } from "../../routes/server.ts";
import { INTENDED_USE, LABEL_ORDERS } from "../../model/spec.ts";

export const TINY_SIZE = 28;

/** Writes `<id>.onnx` + `<id>.manifest.json` into `dir`; returns the manifest path. */
export async function writeTinyModel(
  dir: string,
  { id = "tiny-expression", attention = false, trained = false }: {
    id?: string;
    attention?: boolean;
    trained?: boolean;
  } = {},
): Promise<string> {
  const s = TINY_SIZE;
  // logits = mean_rgb(x) @ W + b: colour decides the class, so different crops give different answers.
  const w = [
    [2, -1, 0.5, 0, 1, -2, 0.3],
    [-1, 2, 0, 0.5, -1, 1, 0.2],
    [0.5, 0, -1, 2, 0, 0.5, -0.4],
  ].flat();
  const nodes = [
    makeNode("ReduceMean", ["input"], ["rgb"], { axes: [2, 3], keepdims: 0 }),
    makeNode("MatMul", ["rgb", "w"], ["mm"]),
    makeNode("Add", ["mm", "b"], ["logits"]),
  ];
  const outputs = [makeValueInfo("logits", DataType.FLOAT, ["N", 7])];
  if (attention) {
    nodes.push(makeNode("ReduceMean", ["input"], ["attention_map"], { axes: [1], keepdims: 0 }));
    outputs.push(makeValueInfo("attention_map", DataType.FLOAT, ["N", s, s]));
  }
  const graph = makeGraph(
    nodes,
    "tiny",
    [makeValueInfo("input", DataType.FLOAT, ["N", 3, s, s])],
    outputs,
    [
      makeTensor("w", DataType.FLOAT, [3, 7], w),
      makeTensor("b", DataType.FLOAT, [7], [0.1, 0, 0, 0, 0.2, 0, 0]),
    ],
  );
  const bytes = encodeModel(makeModel(graph, { opset: 17 }));
  await Deno.writeFile(join(dir, `${id}.onnx`), bytes);
  const manifest = {
    schemaVersion: 1,
    id,
    task: "expression",
    architecture: { name: attention ? "tiny-scan-like" : "tiny-linear", version: "0.0.1" },
    file: `${id}.onnx`,
    sha256: await sha256Hex(bytes),
    bytes: bytes.length,
    opset: 17,
    precision: "fp32",
    labels: [...LABEL_ORDERS.affectnet],
    labelOrder: "affectnet",
    input: {
      name: "input",
      shape: ["N", 3, s, s],
      dtype: "float32",
      layout: "NCHW",
      channelOrder: "RGB",
      size: { width: s, height: s },
      scale: 1 / 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      resize: "fill",
    },
    outputs: [
      { name: "logits", shape: ["N", 7], dtype: "float32" },
      ...(attention ? [{ name: "attention_map", shape: ["N", s, s], dtype: "float32" }] : []),
    ],
    parameters: 28,
    gflops: 0,
    trained,
    provenance: { source: "tests/api/fixtures.ts fixed weights", tool: "tests", seed: 1 },
    metrics: [],
    license: "test fixture",
    intendedUse: INTENDED_USE,
  };
  const path = join(dir, `${id}.manifest.json`);
  await Deno.writeTextFile(path, JSON.stringify(manifest, null, 2));
  return path;
}

/** A solid-colour PNG of the given size (made with sharp through src/image.ts's encoder). */
export async function solidPng(
  width: number,
  height: number,
  rgb: [number, number, number],
): Promise<Uint8Array<ArrayBuffer>> {
  const { encodePng } = await import("../../src/image.ts");
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return new Uint8Array(await encodePng({ data, width, height, channels: 3 }));
}

/** The face-api demo photos (they contain faces). */
export function demoPhoto(n: 1 | 2 | 3 | 4 | 5 | 6): Uint8Array<ArrayBuffer> {
  return Deno.readFileSync(
    new URL(`../../node_modules/@vladmandic/face-api/demo/sample${n}.jpg`, import.meta.url),
  );
}

/** Links the face-api ports and BlazeFace (built into artifacts/models/ when missing) into `dir`: the server needs them to start. */
export async function withFaceModels(dir: string): Promise<void> {
  const { faceModelDir } = await import("../faces/models.ts");
  const src = await faceModelDir();
  const names = [
    "face-detector-ssd",
    "face-detector-tiny",
    "face-detector-blazeface",
    "face-landmarks68",
    "face-expression",
  ];
  for (const name of names) {
    for (const ext of [".onnx", ".manifest.json"]) {
      await Deno.symlink(join(src, name + ext), join(dir, name + ext));
    }
  }
}

/**
 * A model folder for integration tests: the face-api ports (built into artifacts/models/ when missing, then linked) plus an
 * untrained, width-reduced SCAN+CCI (`scan-cci`, 1/8 width, seed 1) so attention and the 224 aligned path run
 * for real in a fraction of the full model's time. Built once per process.
 */
let apiDir: Promise<string> | undefined;
export function apiModelDir(): Promise<string> {
  apiDir ??= (async () => {
    const { buildScanCci } = await import("../../model/scan_cci/build.ts");
    const { writeArtifact } = await import("../../model/artifact.ts");
    const { randomScanCci } = await import("../../model/scan_cci/random.ts");
    const dir = await Deno.makeTempDir({ prefix: "fer-api-" });
    await withFaceModels(dir);
    const width = 8;
    const built = await buildScanCci({
      tensors: randomScanCci({ seed: 1, width, classes: 7 }),
      labels: "affectnet",
      width,
      source: "random init (tests/api/fixtures.ts)",
      trained: false,
      seed: 1,
    });
    await writeArtifact(dir, built);
    return dir;
  })();
  return apiDir;
}

/** A PNG whose header announces `width`x`height` but whose data is tiny: a decompression bomb in 100 bytes. */
export async function bombPng(width = 30000, height = 30000): Promise<Uint8Array<ArrayBuffer>> {
  const png = await solidPng(1, 1, [0, 0, 0]);
  const out = png.slice();
  const view = new DataView(out.buffer);
  // IHDR starts at byte 8: length(4) "IHDR"(4) width(4) height(4) ... crc(4) over type+data (17 bytes).
  view.setUint32(16, width);
  view.setUint32(20, height);
  view.setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The permission flags `deno task start` gives the server (read from deno.json), so that child-process tests
 * run it with exactly the production permissions, not `-A`.
 */
export const START_PERMISSIONS: string[] = (() => {
  const tasks = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url))).tasks;
  const serve = (tasks.start as string).split("&&").map((c) => c.trim()).find((c) =>
    c.endsWith("routes/server.ts")
  );
  if (!serve) throw new Error("Cannot read the start task: no command runs routes/server.ts");
  return serve.split(/\s+/).filter((a) => a.startsWith("--"));
})();

/**
 * The server process (routes/server.ts) in a subprocess, as a platform runs it: loopback, a free port, plain
 * logs, plus `env`. Output streams are `piped` unless given.
 */
export function serverCommand(
  env: Record<string, string>,
  { stdout = "piped", stderr = "piped" }: {
    stdout?: "piped" | "null";
    stderr?: "piped" | "null" | "inherit";
  } = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...START_PERMISSIONS, new URL("../../routes/server.ts", import.meta.url).pathname],
    env: { PORT: "0", HOST: "127.0.0.1", NO_COLOR: "1", ...env },
    stdout,
    stderr,
  });
}

/** A server process (see `serverCommand`) with its JSON log lines, a wait for a log message, and its base URL. */
export interface ChildServer {
  child: Deno.ChildProcess;
  lines: Record<string, unknown>[];
  /** The first log line with `msg` (already seen or still to come); rejects when the process ends without it. */
  waitFor(msg: string): Promise<Record<string, unknown>>;
  /** Resolves once stdout closes (the process ended). */
  done: Promise<void>;
}

/**
 * Spawns routes/server.ts with `env` (stderr discarded) and collects its log lines; with `openFiles`, under
 * `ulimit -n <openFiles>` (soft and hard), as a platform with a low descriptor limit would run it.
 */
export function spawnServer(
  env: Record<string, string>,
  { openFiles }: { openFiles?: number } = {},
): ChildServer {
  const script = new URL("../../routes/server.ts", import.meta.url).pathname;
  const child = openFiles === undefined
    ? serverCommand(env, { stderr: "null" }).spawn()
    : new Deno.Command("bash", {
      args: ["-c", `ulimit -n ${openFiles} && exec "$0" run -A "$1"`, Deno.execPath(), script],
      env: { PORT: "0", HOST: "127.0.0.1", NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "null",
    }).spawn();
  const lines: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  const done = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        if (!line.startsWith("{")) continue;
        const j = JSON.parse(line);
        lines.push(j);
        for (const w of waiters.filter((w) => w.msg === j.msg)) w.resolve(j);
      }
    }
  })();
  // A message that never comes because the process ended is a failure, not a test left hanging.
  const waitFor = (msg: string) =>
    Promise.resolve(
      lines.find((l) => l.msg === msg) ??
        Promise.race([
          new Promise<Record<string, unknown>>((resolve) => waiters.push({ msg, resolve })),
          done.then(() =>
            lines.find((l) => l.msg === msg) ??
              Promise.reject(
                new Error(`the server exited before "${msg}": ${JSON.stringify(lines.slice(-3))}`),
              )
          ),
        ]),
    );
  return { child, lines, waitFor, done };
}

/** A fresh folder with the tiny expression model (id `tiny`) and the face models: what serving tests serve. */
export async function tinyModelDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  await writeTinyModel(dir, { id: "tiny" });
  await withFaceModels(dir);
  return dir;
}

/** Starts the real server in this process on a loopback port over `modelDir`; `env` adds to or overrides the test defaults. */
export function startLoopbackServer(
  modelDir: string,
  env: Record<string, string> = {},
  logger: Logger = createLogger({ level: "error", write: () => {} }),
): RunningServer {
  return startServer(
    loadConfig({ PORT: "0", HOST: "127.0.0.1", MODEL_DIR: modelDir, LOG_LEVEL: "error", ...env }),
    { logger },
  );
}
