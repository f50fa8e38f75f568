/**
 * The server process as a serverless platform runs it: routes/server.ts in a subprocess, cold start logged, and on
 * SIGTERM it turns not-ready, finishes the request in flight and exits 0 well within 10 seconds.
 */
import assert from "node:assert/strict";
import { serverCommand, solidPng, withFaceModels, writeTinyModel } from "./fixtures.ts";

Deno.test("routes/server.ts logs its cold start and drains in-flight requests on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-sigterm-" });
  await writeTinyModel(dir, { id: "tiny" });
  await withFaceModels(dir); // the server refuses to start without its face detector
  const child = serverCommand({
    MODEL_DIR: dir,
    // The request below waits in the batcher for a full second: it is in flight when SIGTERM arrives.
    MAX_DELAY_MS: "1000",
    LOG_LEVEL: "info",
  }, { stderr: "null" }).spawn();
  const lines: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) handle(line);
    }
  })();
  function handle(line: string) {
    {
      if (!line.startsWith("{")) return;
      const j = JSON.parse(line);
      lines.push(j);
      for (const w of waiters.filter((w) => w.msg === j.msg)) w.resolve(j);
    }
  }
  const waitFor = (msg: string) =>
    lines.find((l) => l.msg === msg) ??
      new Promise<Record<string, unknown>>((resolve) => waiters.push({ msg, resolve }));

  const listening = await waitFor("listening");
  const ready = await waitFor("ready");
  assert.ok(typeof ready.coldStartMs === "number" && ready.coldStartMs > 0);
  const base = `http://127.0.0.1:${listening.port}`;

  const png = await solidPng(32, 32, [90, 90, 200]);
  const t0 = performance.now();
  const inFlight = fetch(`${base}/v1/expressions?detect=false`, {
    method: "POST",
    body: png,
    headers: { "content-type": "image/png" },
  });
  await new Promise((r) => setTimeout(r, 200));
  child.kill("SIGTERM");
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.equal((await res.json()).faces.length, 1);
  const status = await child.status;
  const seconds = (performance.now() - t0) / 1000;
  await reading;
  assert.equal(status.code, 0);
  assert.ok(seconds < 10, `exited after ${seconds.toFixed(1)} s`);
  assert.ok(lines.some((l) => l.msg === "draining"));
  assert.equal(lines.find((l) => l.msg === "stopped")?.outcome, "drained");
  await assert.rejects(fetch(`${base}/healthz`));
  await Deno.remove(dir, { recursive: true });
});
