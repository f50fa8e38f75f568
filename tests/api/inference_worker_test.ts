/**
 * `INFERENCE_WORKER=on`: the sessions live in one Worker and a photo's answer is the same as with the sessions on
 * the main thread (the worker is a transport, not a different computation), in real subprocesses; and a server in
 * this process leaves no worker behind once it has shut down.
 */
import assert from "node:assert/strict";
import { demoPhoto, spawnServer, startLoopbackServer, tinyModelDir } from "./fixtures.ts";
import { inferenceWorkerState } from "../../src/session.ts";

/** Starts a server with `INFERENCE_WORKER=<on>` and answers one demo photo; returns status and faces. */
async function answer(dir: string, on: "on" | "off"): Promise<{ status: number; faces: unknown }> {
  const server = spawnServer({ MODEL_DIR: dir, DEFAULT_MODEL: "tiny", INFERENCE_WORKER: on });
  try {
    const { port } = await server.waitFor("listening");
    await server.waitFor("ready");
    const res = await fetch(`http://127.0.0.1:${port}/v1/expressions`, {
      method: "POST",
      body: demoPhoto(1),
      headers: { "content-type": "image/jpeg" },
    });
    const body = await res.json();
    return { status: res.status, faces: body.faces };
  } finally {
    server.child.kill("SIGTERM");
    await server.done;
    await server.child.status;
  }
}

Deno.test("INFERENCE_WORKER=on answers a photo exactly as the main-thread sessions do", async () => {
  const dir = await tinyModelDir("fer-worker-");
  try {
    const off = await answer(dir, "off");
    const on = await answer(dir, "on");
    assert.equal(off.status, 200);
    assert.equal(on.status, 200);
    assert.ok(Array.isArray(on.faces) && on.faces.length > 0, "faces found through the worker");
    assert.deepEqual(on.faces, off.faces);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an in-process server with INFERENCE_WORKER=on ends the worker when it shuts down", async () => {
  const dir = await tinyModelDir("fer-worker-inproc-");
  try {
    const server = startLoopbackServer(dir, { DEFAULT_MODEL: "tiny", INFERENCE_WORKER: "on" });
    await server.ready;
    assert.ok(inferenceWorkerState().running, "sessions opened in the worker");
    assert.ok(
      inferenceWorkerState().sessions >= 3,
      "the expression model, the detectors and the landmark net",
    );
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/expressions`, {
      method: "POST",
      body: demoPhoto(2),
      headers: { "content-type": "image/jpeg" },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const { outcome } = await server.shutdown();
    assert.equal(outcome, "drained");
    assert.deepEqual(inferenceWorkerState(), { running: false, sessions: 0 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
