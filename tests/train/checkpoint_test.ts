import assert from "node:assert/strict";
import {
  checkpointName,
  type CheckpointState,
  configHash,
  latestCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
} from "../../train/checkpoint.ts";
import { defaultConfig } from "../../train/config.ts";

function state(epoch: number, stepInEpoch = 0): CheckpointState {
  return {
    version: 1,
    epoch,
    stepInEpoch,
    globalStep: epoch * 10 + stepInEpoch,
    lr: { backbone: 1e-4, heads: 1e-3 },
    sampler: { mode: "uniform", epoch, rng: { s: [1, 2, 3, 4] } },
    augmentRng: { s: [5, 6, 7, 8] },
    configHash: "abc",
    width: 16,
    classes: 7,
    labels: ["neutral"],
    seed: 0,
    data: { name: "test", synthetic: true, samples: 10 },
    backend: "wasm",
    history: [],
    savedAt: "2026-01-01T00:00:00Z",
  };
}

const weights = new Map([["base.conv1.weight", {
  shape: [2, 3, 1, 1],
  data: Float32Array.from([1, 2, 3, 4, 5, 6]),
}]]);
const momentum = new Map([["base.conv1.weight", {
  shape: [1, 1, 3, 2],
  data: Float32Array.from([6, 5, 4, 3, 2, 1]),
}]]);

Deno.test("saveCheckpoint() round-trips weights, momentum and state bit-exactly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await saveCheckpoint(dir, { weights, momentum, state: state(2) });
    assert.equal(path, `${dir}/epoch-0002`);
    const c = await loadCheckpoint(path);
    assert.deepEqual(c.state, state(2));
    assert.deepEqual(c.weights.get("base.conv1.weight")!.data, weights.get("base.conv1.weight")!.data);
    assert.deepEqual(c.weights.get("base.conv1.weight")!.shape, [2, 3, 1, 1]);
    assert.deepEqual(c.momentum.get("base.conv1.weight")!.data, momentum.get("base.conv1.weight")!.data);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["epoch-0002"], "no temporary folder left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveCheckpoint() keeps the newest N and latestCheckpoint() orders epochs and mid-epoch saves", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [e, s] of [[1, 0], [2, 0], [2, 3], [3, 0]]) {
      await saveCheckpoint(dir, { weights, momentum, state: state(e, s) }, { keep: 2 });
    }
    assert.deepEqual(await listCheckpoints(dir), [`${dir}/epoch-0002-step-000003`, `${dir}/epoch-0003`]);
    assert.equal(await latestCheckpoint(dir), `${dir}/epoch-0003`);
    assert.equal(await latestCheckpoint(`${dir}/missing`), null);
    assert.equal(checkpointName({ epoch: 2, stepInEpoch: 3 }), "epoch-0002-step-000003");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCheckpoint() names the folder and file when one is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(loadCheckpoint(dir), /Cannot load checkpoint ".*": state\.json unreadable/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configHash() ignores epochs/resume/checkpoint folder but not the recipe", async () => {
  const c = defaultConfig();
  const h = await configHash(c);
  assert.equal(
    h,
    await configHash({ ...c, epochs: 99, resume: true, checkpoint: { ...c.checkpoint, dir: "x" } }),
  );
  assert.notEqual(h, await configHash({ ...c, optimizer: { ...c.optimizer, lrHeads: 0.5 } }));
  assert.notEqual(h, await configHash({ ...c, seed: 1 }));
});
