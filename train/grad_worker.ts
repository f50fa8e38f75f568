/**
 * The entry of one data-parallel gradient worker (a Deno Worker started by train/parallel.ts): it holds a
 * replica of SCAN+CCI on its own tfjs backend (one wasm thread each, so N workers use N cores) and answers
 * messages from the training loop: `init` builds the replica, `load` overwrites variables, `step` takes the
 * current trainable weights plus a shard of the batch and returns the shard's loss, predictions and gradients
 * (and, when asked, its BN running statistics), `predict` returns eval-mode logits for validation. Buffers go
 * back as transfers, so nothing is copied twice.
 */
import * as tf from "@tensorflow/tfjs";
import type { RawPixels } from "../model/preprocess.ts";
import { createScanCci, type ScanCci } from "./arch.ts";
import { toBatchTensor } from "./augment.ts";
import { initBackend } from "./backend.ts";
import { type StepSettings, trainingStep } from "./step.ts";

/** Messages the training loop sends; every one has an `id` echoed in its reply. */
export type WorkerRequest =
  | { id: number; type: "init"; width: number; classes: number; seed: number; backend: string }
  | { id: number; type: "load"; names: string[]; data: Float32Array[] }
  | {
    id: number;
    type: "step";
    /** Trainable weights in the replica's `trainable` order and internal layout (absent: unchanged). */
    trainable?: Float32Array[];
    images: RawPixels[];
    labels: number[];
    settings: StepSettings;
    /** Return the BN running statistics after the step (names as in `init`'s reply). */
    returnStats: boolean;
  }
  | { id: number; type: "predict"; images: RawPixels[]; normalize: StepSettings["normalize"] };

/** Replies: `ok: false` carries the error message. */
export type WorkerReply =
  | { id: number; ok: false; error: string }
  | { id: number; ok: true; type: "init"; backend: string; trainable: string[]; stats: string[] }
  | { id: number; ok: true; type: "load" }
  | {
    id: number;
    ok: true;
    type: "step";
    loss: number;
    attentionLoss: number;
    regionLoss: number;
    predicted: Int32Array;
    grads: Float32Array[];
    stats: Float32Array[] | null;
  }
  | { id: number; ok: true; type: "predict"; logits: Float32Array };

let model: ScanCci | null = null;
let backendName = "";
let vars: tf.Variable[] = [];
let statNames: string[] = [];

function need(): ScanCci {
  if (!model) throw new Error("Cannot run gradient worker: it was not initialised");
  return model;
}

function assign(name: string, data: Float32Array) {
  const v = need().variables.get(name);
  if (!v) throw new Error(`Cannot load gradient worker weights: variable "${name}" does not exist`);
  if (v.size !== data.length) {
    throw new Error(
      `Cannot load gradient worker weights: "${name}" has ${data.length} values, expected ${v.size}`,
    );
  }
  tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
}

/**
 * A buffer this worker may transfer away: wasm reads are copies out of its heap, but the cpu backend can hand
 * out its own storage, which a transfer would detach.
 */
function owned(data: Float32Array): Float32Array {
  return backendName === "wasm" ? data : data.slice();
}

async function handle(msg: WorkerRequest): Promise<[WorkerReply, Transferable[]]> {
  if (msg.type === "init") {
    const info = await initBackend({ backend: msg.backend as "auto" });
    backendName = info.name;
    model = createScanCci({ width: msg.width, classes: msg.classes, seed: msg.seed });
    vars = model.trainable.map((n) => model!.variables.get(n)!);
    const trainable = new Set(model.trainable);
    statNames = [...model.variables.keys()].filter((n) => !trainable.has(n));
    return [{
      id: msg.id,
      ok: true,
      type: "init",
      backend: info.name,
      trainable: model.trainable,
      stats: statNames,
    }, []];
  }
  if (msg.type === "load") {
    msg.names.forEach((name, i) => assign(name, msg.data[i]));
    return [{ id: msg.id, ok: true, type: "load" }, []];
  }
  const m = need();
  if (msg.type === "predict") {
    const logits = tf.tidy(() => m.apply(toBatchTensor(msg.images, msg.normalize)).logits);
    const data = owned((await logits.data()) as Float32Array);
    logits.dispose();
    return [{ id: msg.id, ok: true, type: "predict", logits: data }, [data.buffer as ArrayBuffer]];
  }
  msg.trainable?.forEach((data, i) => assign(m.trainable[i], data));
  const r = trainingStep(m, vars, msg.images, msg.labels, msg.settings);
  try {
    const grads = await Promise.all(
      vars.map(async (v) => owned((await r.grads[v.name].data()) as Float32Array)),
    );
    const stats = msg.returnStats
      ? await Promise.all(
        statNames.map(async (n) => owned((await m.variables.get(n)!.data()) as Float32Array)),
      )
      : null;
    const reply: WorkerReply = {
      id: msg.id,
      ok: true,
      type: "step",
      loss: (await r.loss.data())[0],
      attentionLoss: (await r.attentionLoss.data())[0],
      regionLoss: (await r.regionLoss.data())[0],
      predicted: Int32Array.from(await r.predicted.data()),
      grads,
      stats,
    };
    return [reply, [
      ...grads.map((g) => g.buffer as ArrayBuffer),
      ...(stats ?? []).map((s) => s.buffer as ArrayBuffer),
    ]];
  } finally {
    tf.dispose([r.loss, r.attentionLoss, r.regionLoss, r.predicted, ...Object.values(r.grads)]);
  }
}

// The worker global scope, typed here because the project's lib is the window one.
const scope = self as unknown as {
  postMessage(message: unknown, options?: { transfer?: Transferable[] }): void;
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
};

// Messages are handled one at a time, in order: a `load` sent before a `step` is applied before it runs.
let queue = Promise.resolve();
scope.onmessage = (e) => {
  const msg = e.data;
  queue = queue.then(async () => {
    try {
      const [reply, transfer] = await handle(msg);
      scope.postMessage(reply, { transfer });
    } catch (err) {
      scope.postMessage({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
};
