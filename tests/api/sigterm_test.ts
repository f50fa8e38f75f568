/**
 * The server process as a serverless platform runs it: routes/server.ts in a subprocess, cold start logged, and on
 * SIGTERM it turns not-ready, finishes the request in flight and exits 0 well within 10 seconds.
 */
import assert from "node:assert/strict";
import { serverCommand, solidPng, spawnServer, withFaceModels, writeTinyModel } from "./fixtures.ts";

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

/** What one request of a client ended with. */
type Outcome = "ok" | "503" | "refused" | "lost";

/**
 * `clients` clients posting photos back to back until the server stops taking connections; SIGTERM after
 * `signalAfterMs`. Every request is accounted for: 200, a complete 503 problem with Retry-After, a connection
 * refused (never accepted), or lost (a socket closed without a complete answer: the bug this guards against).
 */
async function drainUnderLoad(env: Record<string, string>, clients: number, signalAfterMs: number) {
  const dir = await Deno.makeTempDir({ prefix: "fer-drain-" });
  await writeTinyModel(dir, { id: "tiny" });
  await withFaceModels(dir);
  const server = spawnServer({ MODEL_DIR: dir, DEFAULT_MODEL: "tiny", LOG_LEVEL: "info", ...env });
  const listening = await server.waitFor("listening");
  await server.waitFor("ready");
  const base = `http://127.0.0.1:${listening.port}`;
  const png = await solidPng(32, 32, [90, 90, 200]);
  const outcomes: Outcome[] = [];
  const lost: string[] = [];
  let signalled = false;
  const client = async () => {
    // Bounded: a client stops at its first refused connection, or after 200 requests.
    for (let i = 0; i < 200; i++) {
      try {
        const res = await fetch(`${base}/v1/expressions?detect=false`, {
          method: "POST",
          body: png,
          headers: { "content-type": "image/png" },
        });
        const body = await res.json();
        if (res.status === 200 && body.faces.length === 1) outcomes.push("ok");
        else if (
          res.status === 503 && body.code === "not_ready" && Number(res.headers.get("retry-after")) >= 1
        ) outcomes.push("503");
        else lost.push(`${res.status} ${JSON.stringify(body)}`);
      } catch (err) {
        const text = String((err as Error)?.cause ?? err);
        if (signalled && /Connection refused|os error 111/.test(text)) {
          outcomes.push("refused");
          return;
        }
        lost.push(text);
        outcomes.push("lost");
        return;
      }
    }
  };
  const running = Array.from({ length: clients }, client);
  await new Promise((r) => setTimeout(r, signalAfterMs));
  signalled = true;
  server.child.kill("SIGTERM");
  await Promise.all(running);
  const status = await server.child.status;
  await server.done;
  await Deno.remove(dir, { recursive: true });
  const count = (o: Outcome) => outcomes.filter((x) => x === o).length;
  // The accounting, for the README's Reliability figures.
  console.log(
    JSON.stringify({
      clients,
      ok: count("ok"),
      "503": count("503"),
      refused: count("refused"),
      lost: lost.length,
      exit: status.code,
    }),
  );
  return {
    status,
    lines: server.lines,
    lost,
    ok: count("ok"),
    unavailable: count("503"),
    refused: count("refused"),
  };
}

Deno.test("SIGTERM under 16 clients: every request completes, or is refused before it was accepted; exit 0", async () => {
  // Each request waits in the batcher for 400 ms, so requests are in flight when the signal comes.
  const r = await drainUnderLoad({ MAX_DELAY_MS: "400", MAX_BATCH: "64" }, 16, 1500);
  assert.deepEqual(r.lost, [], "no request may end in a closed socket");
  assert.ok(r.ok >= 16, `${r.ok} completed`);
  assert.ok(r.refused > 0, "new connections are refused once draining");
  assert.equal(r.status.code, 0);
  const stopped = r.lines.find((l) => l.msg === "stopped");
  assert.equal(stopped?.outcome, "drained");
});

Deno.test("SIGTERM with a grace period shorter than the work: a complete 503 with Retry-After, exit 3", async () => {
  // The first requests wait 1 s in the batcher; SIGTERM comes after 400 ms with a 200 ms grace period.
  const r = await drainUnderLoad(
    { MAX_DELAY_MS: "1000", MAX_BATCH: "64", SHUTDOWN_GRACE_MS: "200" },
    16,
    400,
  );
  assert.deepEqual(r.lost, [], "no request may end in a closed socket");
  assert.ok(r.unavailable >= 1, `${r.unavailable} answered 503`);
  assert.equal(r.status.code, 3);
  const stopped = r.lines.find((l) => l.msg === "stopped");
  assert.equal(stopped?.outcome, "cut");
  assert.equal(stopped?.cut, r.unavailable);
});
