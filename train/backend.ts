/**
 * Picks and initialises the TensorFlow.js backend for training, best first: the native `tensorflow` backend of
 * `@tensorflow/tfjs-node-gpu` (CUDA), then of `@tensorflow/tfjs-node` (CPU, libtensorflow), then the pure-JS
 * `wasm` backend (XNNPACK, SIMD) with this project's convolution gradient kernels, then plain `cpu` (also with
 * them). The node packages are imported by a computed specifier so type-checking and installing the repo never
 * need them (their install downloads libtensorflow); the training image adds one to the import map.
 *
 * wasm is preferred over cpu because its forward convolutions and matMuls are ~20x faster (platform notes §5),
 * which also makes the im2col gradient kernels fast.
 */
import * as tf from "@tensorflow/tfjs";
import { registerFastConvGradients } from "./kernels.ts";

/** Which backend training runs on. */
export type BackendName = "tensorflow" | "wasm" | "cpu";
/** The requested backend: `auto` tries tfjs-node-gpu, tfjs-node, wasm, cpu in that order. */
export type BackendChoice = "auto" | BackendName;

export interface BackendInfo {
  /** tfjs backend name now active. */
  name: BackendName;
  /** npm package that provides it. */
  package: string;
  /** Kernels this project registered (empty on the native backend). */
  customKernels: string[];
  /** Whether the backend uses a GPU (only tfjs-node-gpu with a visible CUDA device). */
  gpu: boolean;
}

let current: BackendInfo | null = null;

async function tryImport(specifier: string): Promise<boolean> {
  try {
    // A computed specifier keeps `deno check` and the frozen lock free of packages that are not installed.
    await import(specifier);
    return true;
  } catch {
    return false;
  }
}

async function tryNative(): Promise<BackendInfo | null> {
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    if (!(await tryImport(pkg))) continue;
    if (await tf.setBackend("tensorflow")) {
      await tf.ready();
      return { name: "tensorflow", package: pkg, customKernels: [], gpu: pkg.endsWith("-gpu") };
    }
  }
  return null;
}

async function tryWasm(): Promise<BackendInfo | null> {
  if (!(await tryImport("@tensorflow/tfjs-backend-wasm"))) return null;
  try {
    if (!(await tf.setBackend("wasm"))) return null;
    await tf.ready();
  } catch {
    return null;
  }
  return {
    name: "wasm",
    package: "@tensorflow/tfjs-backend-wasm",
    customKernels: registerFastConvGradients("wasm"),
    gpu: false,
  };
}

async function useCpu(): Promise<BackendInfo> {
  await tf.setBackend("cpu");
  await tf.ready();
  return {
    name: "cpu",
    package: "@tensorflow/tfjs",
    customKernels: registerFastConvGradients("cpu"),
    gpu: false,
  };
}

/**
 * Initialises the training backend once per process and returns what is running (later calls return the same
 * answer unless a different explicit `backend` is asked for). Sets `PROD` (no debug checks, no banner). Throws
 * `Cannot initialise tfjs backend "x": …` when an explicitly requested backend is unavailable.
 */
export async function initBackend({ backend = "auto" as BackendChoice } = {}): Promise<BackendInfo> {
  if (current && (backend === "auto" || backend === current.name)) {
    // Someone (a test, a benchmark baseline) may have switched backends since; switch back.
    if (tf.getBackend() !== current.name) await tf.setBackend(current.name);
    return current;
  }
  tf.env().set("PROD", true);
  let info: BackendInfo | null = null;
  if (backend === "auto") info = (await tryNative()) ?? (await tryWasm()) ?? (await useCpu());
  else if (backend === "tensorflow") info = await tryNative();
  else if (backend === "wasm") info = await tryWasm();
  else info = await useCpu();
  if (!info) {
    throw new Error(
      `Cannot initialise tfjs backend "${backend}": its package is not installed or failed to load (wasm needs --allow-read to node_modules)`,
    );
  }
  current = info;
  return info;
}
