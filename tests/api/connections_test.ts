/**
 * Hostile connections against the server process under a low descriptor limit (`ulimit -n 256`): 400 sockets
 * that send nothing, never finish their headers, or half-close at once. The server must survive (Deno.serve
 * exited with EMFILE here), refuse the connections over its cap with a complete 503 problem, close the rest
 * after HEADERS_TIMEOUT_MS, close an idle kept-alive connection after KEEP_ALIVE_TIMEOUT_MS, and still answer
 * /healthz. Loopback only; bounded in count and time.
 */
import assert from "node:assert/strict";
import { spawnServer, withFaceModels, writeTinyModel } from "./fixtures.ts";

const SOCKETS = 400;
const OPEN_FILES = 256;

/** `p`, or a failure naming `what` when it has not settled after `ms` (a bound on a hang, not a timing check). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) =>
      timer = setTimeout(() => reject(new Error(`${what}: no end in ${ms} ms`)), ms)
    ),
  ]);
}

/** Everything a connection receives until the server closes it ("" when it closes without a word). */
async function readAll(conn: Deno.Conn): Promise<string> {
  const chunks: string[] = [];
  const buf = new Uint8Array(4096);
  const decoder = new TextDecoder();
  while (true) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    chunks.push(decoder.decode(buf.subarray(0, n), { stream: true }));
  }
  conn.close();
  return chunks.join("");
}

Deno.test("idle, slow and half-open sockets past the fd limit: refused or timed out, the server survives", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-conns-" });
  await writeTinyModel(dir, { id: "tiny" });
  await withFaceModels(dir);
  const server = spawnServer({
    MODEL_DIR: dir,
    HEADERS_TIMEOUT_MS: "1500",
    KEEP_ALIVE_TIMEOUT_MS: "1000",
    LOG_LEVEL: "info",
  }, { openFiles: OPEN_FILES });
  let exited = false;
  server.child.status.then(() => exited = true);
  try {
    const listening = await within(server.waitFor("listening"), 30_000, "listening");
    assert.deepEqual(listening.openFileLimit, { soft: OPEN_FILES, hard: OPEN_FILES });
    // The cap leaves FD_RESERVE (64) descriptors free under the limit.
    assert.equal(listening.maxConnections, OPEN_FILES - 64);
    await within(server.waitFor("ready"), 60_000, "ready");
    const port = listening.port as number;
    const base = `http://127.0.0.1:${port}`;

    const kinds = ["idle", "slow headers", "half-open"] as const;
    const sockets = await Promise.all(
      Array.from({ length: SOCKETS }, async (_, i) => {
        const kind = kinds[i % kinds.length];
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        if (kind === "slow headers") {
          await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1"));
        }
        if (kind === "half-open") await conn.closeWrite();
        return { kind, received: readAll(conn) };
      }),
    );
    const texts = await within(Promise.all(sockets.map((s) => s.received)), 30_000, "server-side closes");
    // Every socket was closed by the server: over the cap with a complete 503 (REFUSING at a time; the rest of
    // a burst closed at once), the others by the header timeout.
    const refused = texts.filter((t) => t.startsWith("HTTP/1.1 503"));
    const silent = texts.filter((t) => t === "");
    const other = texts.filter((t) => t && !t.startsWith("HTTP/1.1 503"));
    assert.equal(refused.length + silent.length, SOCKETS, JSON.stringify(other.slice(0, 3)));
    assert.ok(refused.length > 0);
    for (const t of refused.slice(0, 5)) {
      assert.match(t, /content-type: application\/problem\+json/i);
      assert.match(t, /retry-after: 1/i);
      const problem = JSON.parse(t.slice(t.indexOf("\r\n\r\n") + 4));
      assert.equal(problem.code, "overloaded");
      assert.match(problem.detail, /connections are open/);
    }
    assert.equal(exited, false, "the server process is still running");

    // An idle kept-alive connection is closed after its one answered request.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const keptAlive = await within(readAll(conn), 15_000, "keep-alive close");
    assert.match(keptAlive, /^HTTP\/1\.1 200/);

    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /fer_connection_events_total\{event="header_timeout"\} [1-9]/);
    assert.match(metrics, /fer_connection_events_total\{event="idle_timeout"\} [1-9]/);
    const count = (event: string) =>
      Number(metrics.match(new RegExp(`fer_connection_events_total\\{event="${event}"\\} (\\d+)`))?.[1] ?? 0);
    assert.ok(count("refused") >= SOCKETS - (OPEN_FILES - 64), `${count("refused")} refused`);
    assert.ok(count("header_timeout") > 0);
    assert.ok(!server.lines.some((l) => /Too many open files/.test(JSON.stringify(l))));
  } finally {
    server.child.kill("SIGTERM");
    const status = await server.child.status;
    await server.done;
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0);
  }
});
