/**
 * Job webhooks end to end: the real server on loopback posts a finished job to a receiver on loopback, which
 * checks the HMAC-SHA256 signature over the raw body, fails the first attempt with 500 and accepts the second;
 * the job records both attempts, and they survive a restart on the same DATA_DIR (the SQLite store). A cancelled
 * job's webhook to a port nobody listens on is tried a bounded number of times, each network error recorded.
 * The receivers are on loopback, which the SSRF guard refuses: these servers permit `WEBHOOK_ALLOWED_CIDRS=
 * 127.0.0.1/32`, and the guard's own tests run without it (refused at upload, and at delivery after a restart
 * that narrowed the allow-list: the receiver is never called again). Skipped off CI when ffmpeg is not installed (see tests/fixtures/videos.ts).
 */
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { type RunningServer, startServer } from "../../routes/server.ts";
import { createLogger } from "../../src/logger.ts";
import { apiModelDir } from "./fixtures.ts";
import { makeVideo, SKIP_WITHOUT_FFMPEG } from "../fixtures/videos.ts";

const ignore = SKIP_WITHOUT_FFMPEG;
const SECRET = "test-webhook-secret";
const quiet = createLogger({ level: "error" });

interface Received {
  body: string;
  signature: string;
  event: string;
  attempt: string;
}

/** A receiver on loopback that answers 500 to the first `failures` deliveries and 204 to the later ones. */
function startReceiver(failures = 1) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    received.push({
      body: await req.text(),
      signature: req.headers.get("x-scan-fer-signature") ?? "",
      event: req.headers.get("x-scan-fer-event") ?? "",
      attempt: req.headers.get("x-scan-fer-attempt") ?? "",
    });
    return new Response(null, { status: received.length <= failures ? 500 : 204 });
  });
  return { server, received, url: `http://127.0.0.1:${server.addr.port}/hook` };
}

/** What the receiver does: recompute the HMAC over the raw body and compare in constant time. */
function signatureValid(r: Received): boolean {
  const expected = `sha256=${createHmac("sha256", SECRET).update(r.body).digest("hex")}`;
  return r.signature.length === expected.length &&
    timingSafeEqual(new TextEncoder().encode(r.signature), new TextEncoder().encode(expected));
}

async function start(dataDir: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const server = startServer(
    loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      MODEL_DIR: await apiModelDir(),
      DATA_DIR: dataDir,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_BACKOFF_MS: "50",
      WEBHOOK_ATTEMPTS: "3",
      WEBHOOK_ALLOWED_CIDRS: "127.0.0.1/32",
      LOG_LEVEL: "error",
      ...env,
    }),
    { logger: quiet },
  );
  await server.ready;
  return server;
}

async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await get();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("Cannot finish test: the condition never held within 60 s");
}

Deno.test({
  name:
    "webhook: signed POST of the finished job to an allowed loopback receiver, 500 then accepted, both attempts on the job after a restart",
  ignore,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "fer-webhook-" });
    const video = await makeVideo(tmp, "short.mp4", { seconds: 1 });
    const receiver = startReceiver();
    let server = await start(join(tmp, "data"));
    try {
      const base = () => `http://127.0.0.1:${server.port}`;
      const res = await fetch(
        `${base()}/v1/videos?fps=2&detector=tiny&webhook=${encodeURIComponent(receiver.url)}`,
        { method: "POST", body: await Deno.readFile(video), headers: { "content-type": "video/mp4" } },
      );
      assert.equal(res.status, 202);
      const submitted = await res.json();
      assert.deepEqual(submitted.webhook, { url: receiver.url, attempts: [] });

      const job = await until(
        async () => await (await fetch(`${base()}/v1/jobs/${submitted.id}`)).json(),
        (j) => j.webhook.attempts.length >= 2,
      );
      assert.equal(job.status, "succeeded");
      assert.deepEqual(job.webhook.attempts.map((a: { status?: number }) => a.status), [500, 204]);
      for (const a of job.webhook.attempts) assert.ok(!Number.isNaN(Date.parse(a.at)));

      assert.equal(receiver.received.length, 2);
      for (const r of receiver.received) {
        assert.ok(signatureValid(r), `bad signature ${r.signature}`);
        assert.equal(r.event, "job.succeeded");
        const body = JSON.parse(r.body);
        assert.equal(body.id, submitted.id);
        assert.equal(body.status, "succeeded");
        assert.equal(body.progress.done, job.progress.done);
      }
      assert.deepEqual(receiver.received.map((r) => r.attempt), ["1", "2"]);
      // A tampered body does not verify.
      assert.ok(!signatureValid({ ...receiver.received[0], body: receiver.received[0].body + " " }));

      // The attempts are in the SQLite store: a new process on the same DATA_DIR shows them, delivers no more.
      await server.shutdown();
      server = await start(join(tmp, "data"));
      const again = await (await fetch(`${base()}/v1/jobs/${submitted.id}`)).json();
      assert.deepEqual(again.webhook, job.webhook);
      assert.equal(receiver.received.length, 2);
    } finally {
      await server.shutdown();
      await receiver.server.shutdown();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "webhook: a cancelled job's unreachable receiver gets WEBHOOK_ATTEMPTS tries, each error recorded",
  ignore,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "fer-webhook-" });
    const video = await makeVideo(tmp, "long.mp4", { seconds: 8 });
    // A port that was free a moment ago: nothing listens there.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const dead = `http://127.0.0.1:${(probe.addr as Deno.NetAddr).port}/hook`;
    probe.close();
    const server = await start(join(tmp, "data"));
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const res = await fetch(`${base}/v1/videos?detector=tiny&webhook=${encodeURIComponent(dead)}`, {
        method: "POST",
        body: await Deno.readFile(video),
        headers: { "content-type": "video/mp4" },
      });
      assert.equal(res.status, 202);
      const { id } = await res.json();
      assert.equal(
        (await (await fetch(`${base}/v1/jobs/${id}`, { method: "DELETE" })).json()).status,
        "cancelled",
      );
      const job = await until(
        async () => await (await fetch(`${base}/v1/jobs/${id}`)).json(),
        (j) => j.webhook.attempts.length >= 3,
      );
      assert.equal(job.status, "cancelled");
      assert.equal(job.webhook.attempts.length, 3);
      for (const a of job.webhook.attempts) {
        assert.equal(a.status, undefined);
        assert.ok(a.error.length > 0);
      }
      await new Promise((r) => setTimeout(r, 500));
      const later = await (await fetch(`${base}/v1/jobs/${id}`)).json();
      assert.equal(later.webhook.attempts.length, 3, "no attempt past WEBHOOK_ATTEMPTS");
    } finally {
      await server.shutdown();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "webhook: only http(s) URLs; without WEBHOOK_SECRET an upload with a webhook is a 400 naming it",
  ignore,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "fer-webhook-" });
    const video = await Deno.readFile(await makeVideo(tmp, "short.mp4", { seconds: 1 }));
    const signed = await start(join(tmp, "a"));
    const unsigned = await start(join(tmp, "b"), { WEBHOOK_SECRET: "" });
    try {
      const post = (server: RunningServer, webhook: string) =>
        fetch(`http://127.0.0.1:${server.port}/v1/videos?webhook=${encodeURIComponent(webhook)}`, {
          method: "POST",
          body: video,
          headers: { "content-type": "video/mp4" },
        });
      for (const bad of ["ftp://127.0.0.1/hook", "file:///etc/passwd", "not a url"]) {
        const res = await post(signed, bad);
        assert.equal(res.status, 400, bad);
        assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
        const p = await res.json();
        assert.equal(p.code, "invalid_request");
        assert.equal(p.issues[0].path, "webhook");
      }
      // GET /v1/capabilities tells a client beforehand, with what else an upload is checked against.
      const caps = async (server: RunningServer) =>
        (await (await fetch(`http://127.0.0.1:${server.port}/v1/capabilities`)).json()).videoJobs;
      const [yes, no] = [await caps(signed), await caps(unsigned)];
      assert.equal(yes.webhooks, true);
      assert.equal(no.webhooks, false);
      assert.equal(yes.ffmpeg, true);
      assert.equal(yes.install, undefined);
      assert.ok(yes.codecs.includes("h264") && yes.containers.includes("webm"));
      assert.deepEqual(yes.resultFormats, ["json", "ndjson", "csv", "abaw"]);
      assert.equal(yes.limits.maxVideoSide, loadConfig({}).maxVideoSide);
      const res = await post(unsigned, "http://127.0.0.1:9/hook");
      assert.equal(res.status, 400);
      const p = await res.json();
      assert.equal(p.code, "invalid_request");
      assert.match(p.detail, /WEBHOOK_SECRET/);
      assert.equal((await (await fetch(`http://127.0.0.1:${unsigned.port}/v1/jobs`)).json()).jobs.length, 0);
    } finally {
      await signed.shutdown();
      await unsigned.shutdown();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "webhook SSRF guard: internal hosts refused at upload with 400 webhook_refused naming them, nothing queued",
  ignore,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "fer-webhook-" });
    const video = await Deno.readFile(await makeVideo(tmp, "short.mp4", { seconds: 1 }));
    const open = await start(join(tmp, "a"), { WEBHOOK_ALLOWED_CIDRS: "" });
    const narrow = await start(join(tmp, "b"), { WEBHOOK_ALLOWED_CIDRS: "127.0.0.1/32" });
    try {
      const post = (server: RunningServer, webhook: string) =>
        fetch(`http://127.0.0.1:${server.port}/v1/videos?webhook=${encodeURIComponent(webhook)}`, {
          method: "POST",
          body: video,
          headers: { "content-type": "video/mp4" },
        });
      const cases: [string, RegExp][] = [
        ["http://127.0.0.1:9/hook", /address 127\.0\.0\.1 is a loopback address/],
        ["http://localhost:9/hook", /host "localhost" resolves to (127\.0\.0\.1|::1), a loopback address/],
        ["http://2130706433/hook", /address 127\.0\.0\.1 is a loopback/],
        ["http://[::1]/hook", /address ::1 is a loopback/],
        ["http://[::ffff:127.0.0.1]/hook", /IPv4 127\.0\.0\.1 inside it, a loopback/],
        ["http://169.254.169.254/latest/meta-data/", /address 169\.254\.169\.254 is a link-local/],
        ["https://10.0.0.1/hook", /address 10\.0\.0\.1 is a private \(RFC 1918\)/],
        ["https://192.168.1.10/hook", /private/],
        ["https://100.64.0.1/hook", /carrier-grade NAT/],
        ["http://0.0.0.0:8080/hook", /unspecified/],
        ["http://[fd00::1]/hook", /unique-local/],
        ["http://224.0.0.1/hook", /multicast/],
      ];
      for (const [url, detail] of cases) {
        const res = await post(open, url);
        assert.equal(res.status, 400, url);
        assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
        const p = await res.json();
        assert.equal(p.code, "webhook_refused", url);
        assert.match(p.detail, /^Cannot accept webhook: /, url);
        assert.match(p.detail, detail, url);
        assert.equal(p.issues[0].path, "webhook");
      }
      // The allow-list permits exactly its range: 127.0.0.2 is loopback too, and still refused.
      const other = await post(narrow, "http://127.0.0.2:9/hook");
      assert.equal(other.status, 400);
      assert.equal((await other.json()).code, "webhook_refused");
      for (const server of [open, narrow]) {
        const list = await (await fetch(`http://127.0.0.1:${server.port}/v1/jobs`)).json();
        assert.equal(list.jobs.length, 0, "a refused upload queues no job");
      }
    } finally {
      await open.shutdown();
      await narrow.shutdown();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "webhook SSRF guard: checked again at delivery; once the address is no longer allowed it is refused, counted, never fetched",
  ignore,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "fer-webhook-" });
    const video = await makeVideo(tmp, "short.mp4", { seconds: 1 });
    const receiver = startReceiver(Infinity);
    const data = join(tmp, "data");
    // The first attempt fails (500) and the next one waits a minute: the server stops before it.
    let server = await start(data, { WEBHOOK_BACKOFF_MS: "60000" });
    try {
      const base = () => `http://127.0.0.1:${server.port}`;
      const res = await fetch(
        `${base()}/v1/videos?fps=2&detector=tiny&webhook=${encodeURIComponent(receiver.url)}`,
        { method: "POST", body: await Deno.readFile(video), headers: { "content-type": "video/mp4" } },
      );
      assert.equal(res.status, 202);
      const { id } = await res.json();
      await until(
        async () => await (await fetch(`${base()}/v1/jobs/${id}`)).json(),
        (j) => j.webhook.attempts.length >= 1,
      );
      await server.shutdown();
      assert.equal(receiver.received.length, 1);

      // Restarted without the allow-list: the resumed delivery resolves the host again and refuses it.
      server = await start(data, { WEBHOOK_ALLOWED_CIDRS: "" });
      const job = await until(
        async () => await (await fetch(`${base()}/v1/jobs/${id}`)).json(),
        (j) => j.webhook.attempts.length >= 2,
      );
      assert.deepEqual(job.webhook.attempts[0].status, 500);
      assert.match(job.webhook.attempts[1].error, /^refused: address 127\.0\.0\.1 is a loopback address/);
      const metrics = await (await fetch(`${base()}/metrics`)).text();
      assert.match(metrics, /^fer_webhook_refused_total 1$/m);
      // No further attempts, and the receiver saw only the first one.
      await new Promise((r) => setTimeout(r, 500));
      const later = await (await fetch(`${base()}/v1/jobs/${id}`)).json();
      assert.equal(later.webhook.attempts.length, 2);
      assert.equal(receiver.received.length, 1);
    } finally {
      await server.shutdown();
      await receiver.server.shutdown();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
