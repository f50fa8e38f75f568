import assert from "node:assert/strict";

Deno.test("openModel() with cuda: a failed CUDA attempt logs no raw onnxruntime lines on stderr", async () => {
  // A subprocess: onnxruntime's environment log level is fixed at the process's first session.
  const script = `
    import { openModel } from ${JSON.stringify(new URL("../../src/session.ts", import.meta.url).href)};
    const { buildFaceApiModels } = await import(${
    JSON.stringify(new URL("../../model/faceapi/nets.ts", import.meta.url).href)
  });
    const dir = ${JSON.stringify(new URL("../../artifacts/models/", import.meta.url).pathname)};
    await buildFaceApiModels({ out: dir, ifMissing: true });
    const s = await openModel(dir + "face-expression.manifest.json", { executionProvider: "cuda" });
    console.log(JSON.stringify({ provider: s.provider, fallback: s.fallbackReason ?? null }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const result = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
  // Without CUDA the fallback is reported in data, not as onnxruntime's own stderr lines.
  if (result.provider === "cpu") assert.match(result.fallback, /^cuda unavailable/);
  assert.doesNotMatch(stderr, /\[E:onnxruntime/);
});

Deno.test("openModel() with allowSpinning false opens and answers exactly as with spinning", async () => {
  const { buildFaceApiModels } = await import("../../model/faceapi/nets.ts");
  const { openModel } = await import("../../src/session.ts");
  const dir = new URL("../../artifacts/models/", import.meta.url).pathname;
  await buildFaceApiModels({ out: dir, ifMissing: true });
  const [a, b] = await Promise.all([
    openModel(dir + "face-expression.manifest.json", { allowSpinning: false }),
    openModel(dir + "face-expression.manifest.json"),
  ]);
  const data = Float32Array.from({ length: 112 * 112 * 3 }, (_, i) => (i * 7) % 256);
  const feed = { [a.inputNames[0]]: { data, dims: [1, 112, 112, 3] } };
  const [x, y] = [await a.run(feed), await b.run(feed)];
  for (const k of Object.keys(y)) assert.deepEqual([...x[k].data], [...y[k].data], k);
  await Promise.all([a.release(), b.release()]);
});

Deno.test("openModel() with memoryPattern false answers every batch size exactly as with memory patterns", async () => {
  const { buildFaceApiModels } = await import("../../model/faceapi/nets.ts");
  const { openModel } = await import("../../src/session.ts");
  const dir = new URL("../../artifacts/models/", import.meta.url).pathname;
  await buildFaceApiModels({ out: dir, ifMissing: true });
  const path = dir + "face-expression.manifest.json";
  const [a, b] = await Promise.all([openModel(path, { memoryPattern: false }), openModel(path)]);
  // Batch sizes change run to run in serving (faces per image): each new shape, then a repeated one.
  for (const n of [1, 3, 2, 3]) {
    const data = Float32Array.from({ length: n * 112 * 112 * 3 }, (_, i) => (i * 7 + n) % 256);
    const feed = { [a.inputNames[0]]: { data, dims: [n, 112, 112, 3] } };
    const [x, y] = [await a.run(feed), await b.run(feed)];
    for (const k of Object.keys(y)) assert.deepEqual([...x[k].data], [...y[k].data], `${k} at batch ${n}`);
  }
  await Promise.all([a.release(), b.release()]);
});

Deno.test("openModel() with worker: answers as on the main thread; the worker ends with its last session and a later open starts a new one", async () => {
  const { buildFaceApiModels } = await import("../../model/faceapi/nets.ts");
  const { openModel, inferenceWorkerState } = await import("../../src/session.ts");
  const dir = new URL("../../artifacts/models/", import.meta.url).pathname;
  await buildFaceApiModels({ out: dir, ifMissing: true });
  const path = dir + "face-expression.manifest.json";
  const data = Float32Array.from({ length: 112 * 112 * 3 }, (_, i) => (i * 7) % 256);
  const main = await openModel(path);
  const feed = { [main.inputNames[0]]: { data, dims: [1, 112, 112, 3] } };
  const want = await main.run(feed);
  await main.release();
  for (let round = 0; round < 2; round++) {
    const [a, b] = await Promise.all([openModel(path, { worker: true }), openModel(path, { worker: true })]);
    assert.deepEqual(inferenceWorkerState(), { running: true, sessions: 2 });
    const got = await a.run(feed);
    for (const k of Object.keys(want)) assert.deepEqual([...got[k].data], [...want[k].data], k);
    await a.release();
    // One session left: the worker still serves it.
    assert.deepEqual(inferenceWorkerState(), { running: true, sessions: 1 });
    assert.ok((await b.run(feed))[main.outputNames[0]].data.length > 0);
    await b.release();
    await b.release(); // twice is harmless
    assert.deepEqual(inferenceWorkerState(), { running: false, sessions: 0 });
  }
  // A missing file fails the open and leaves no worker behind.
  await assert.rejects(openModel(dir + "nope.manifest.json", { worker: true }), /Cannot read manifest/);
  assert.deepEqual(inferenceWorkerState(), { running: false, sessions: 0 });
});

Deno.test("a session and a face pipeline may be released twice (registry and creator both release)", async () => {
  const { openModel } = await import("../../src/session.ts");
  const { createFaceDetector } = await import("../../src/faces/pipeline.ts");
  const dir = new URL("../../artifacts/models/", import.meta.url).pathname;
  const s = await openModel(dir + "face-expression.manifest.json");
  await s.release();
  await s.release();
  const faces = await createFaceDetector({ modelDir: dir });
  await faces.pipeline.release();
  await faces.release();
});
