/**
 * Cancellation against the real server on loopback: a 64-frame video upload whose client leaves after the body
 * is sent stops. Its frames not yet decoded or detected are skipped and its queued faces leave the batcher, so
 * the model-run counter (`fer_batch_size_count`) stops growing, the request is counted once in
 * `fer_requests_aborted_total{reason="client_closed"}`, and the next photo request is answered normally; the same
 * for a `fetch` aborted with an AbortController, and for a request past its deadline (`reason="deadline_exceeded"`).
 */
import assert from "node:assert/strict";
import { demoPhoto, startLoopbackServer, tinyModelDir } from "./fixtures.ts";

const FRAMES = 64;

// One face per model run and one image at a time: the upload takes many runs, so an unstopped one shows.
const dir = await tinyModelDir("fer-cancel-");
const server = startLoopbackServer(dir, {
  DEFAULT_MODEL: "tiny",
  MAX_BATCH: "1",
  MAX_DELAY_MS: "0",
  IMAGE_CONCURRENCY: "1",
});
await server.ready;
const base = `http://127.0.0.1:${server.port}`;

/** Model runs so far (all models), read from /metrics of the server at `url`. */
async function modelRuns(url = base): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(/^fer_batch_size_count\{[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
}

/** `fer_requests_aborted_total` of `/v1/videos/frames` for `reason`, read from /metrics of the server at `url`. */
async function abortedRequests(reason: string, url = base): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = [...text.matchAll(/^fer_requests_aborted_total\{([^}]*)\} (\d+)$/gm)]
    .find((m) => m[1].includes(`reason="${reason}"`) && m[1].includes(`route="/v1/videos/frames"`));
  return line ? Number(line[2]) : 0;
}

/** The multipart body of `frames` as bytes, with its content type. */
async function multipart(frames: Uint8Array<ArrayBuffer>[]): Promise<{ body: Uint8Array; type: string }> {
  const form = new FormData();
  for (const f of frames) form.append("frames", new Blob([f], { type: "image/jpeg" }), "f.jpg");
  const req = new Request("http://x/", { method: "POST", body: form });
  return { body: new Uint8Array(await req.arrayBuffer()), type: req.headers.get("content-type")! };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "an abandoned 64-frame upload stops: no more model runs for it, the next photo is answered",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    try {
      const frames = Array.from(
        { length: FRAMES },
        (_, i) => demoPhoto(((i % 6) + 1) as 1 | 2 | 3 | 4 | 5 | 6),
      );
      const { body, type } = await multipart(frames);
      const before = await modelRuns();
      const abortedBefore = await abortedRequests("client_closed");
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      const head = `POST /v1/videos/frames?detector=tiny HTTP/1.1\r\nhost: x\r\ncontent-type: ${type}\r\n` +
        `content-length: ${body.length}\r\n\r\n`;
      const all = new Uint8Array([...new TextEncoder().encode(head), ...body]);
      // `write` may take part of a buffer: loop until every byte is sent.
      for (let at = 0; at < all.length;) at += await conn.write(all.subarray(at));
      // The body is sent; wait until the server is running the model for it, then leave.
      for (let i = 0; i < 600 && (await modelRuns()) - before < 2; i++) await sleep(50);
      const started = (await modelRuns()) - before;
      if (started < 2) {
        const buf = new Uint8Array(4096);
        const n = await conn.read(buf);
        assert.fail(
          `the upload's model runs did not start (${started}): ${
            new TextDecoder().decode(buf.subarray(0, n ?? 0))
          }`,
        );
      }
      conn.close();
      await sleep(1000);
      const afterOne = (await modelRuns()) - before;
      await sleep(1500);
      const afterTwo = (await modelRuns()) - before;
      // Stopped: nothing ran in the second interval, and most of the 64 frames never reached the model.
      assert.equal(
        afterTwo,
        afterOne,
        `model runs went on after the client left: ${afterOne} -> ${afterTwo}`,
      );
      assert.ok(afterTwo < FRAMES, `${afterTwo} of ${FRAMES} frames ran`);
      assert.equal(await abortedRequests("client_closed"), abortedBefore + 1);
      console.log(
        `model runs for the upload: ${started} when the client left, ${afterOne} 1 s later, ${afterTwo} 2.5 s later`,
      );

      const photo = await fetch(`${base}/v1/expressions?detector=tiny`, {
        method: "POST",
        body: demoPhoto(2),
        headers: { "content-type": "image/jpeg" },
      });
      assert.equal(photo.status, 200);
      assert.ok((await photo.json()).faces.length > 0);
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name:
    "a 64-frame fetch aborted by its AbortController stops: counted once, no more model runs, next photo 200",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const own = startLoopbackServer(dir, {
      DEFAULT_MODEL: "tiny",
      MAX_BATCH: "1",
      MAX_DELAY_MS: "0",
      IMAGE_CONCURRENCY: "1",
    });
    try {
      await own.ready;
      const url = `http://127.0.0.1:${own.port}`;
      const form = new FormData();
      for (let i = 0; i < FRAMES; i++) form.append("frames", new Blob([demoPhoto(3)]), "f.jpg");
      const before = await modelRuns(url);
      const client = new AbortController();
      const res = fetch(`${url}/v1/videos/frames?detector=tiny`, {
        method: "POST",
        body: form,
        signal: client.signal,
      });
      res.catch(() => {});
      for (let i = 0; i < 600 && (await modelRuns(url)) - before < 2; i++) await sleep(50);
      assert.ok((await modelRuns(url)) - before >= 2, "the upload's model runs did not start");
      client.abort();
      await assert.rejects(res, (e: Error) => e.name === "AbortError");
      await sleep(1000);
      const afterOne = (await modelRuns(url)) - before;
      await sleep(1500);
      const afterTwo = (await modelRuns(url)) - before;
      assert.equal(afterTwo, afterOne, `model runs went on after the abort: ${afterOne} -> ${afterTwo}`);
      assert.ok(afterTwo < FRAMES, `${afterTwo} of ${FRAMES} frames ran`);
      assert.equal(await abortedRequests("client_closed", url), 1);
      const photo = await fetch(`${url}/v1/expressions?detector=tiny`, {
        method: "POST",
        body: demoPhoto(2),
        headers: { "content-type": "image/jpeg" },
      });
      assert.equal(photo.status, 200);
      await photo.body?.cancel();
      console.log(
        `model runs for the aborted fetch: ${afterOne} 1 s after the abort, ${afterTwo} 2.5 s after`,
      );
    } finally {
      await own.shutdown();
    }
  },
});

Deno.test({
  name: "a 64-frame upload past VIDEO_TIMEOUT_MS answers 504 and stops: no model runs after the answer",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const short = startLoopbackServer(dir, {
      DEFAULT_MODEL: "tiny",
      MAX_BATCH: "1",
      MAX_DELAY_MS: "0",
      IMAGE_CONCURRENCY: "1",
      VIDEO_TIMEOUT_MS: "1500",
    });
    try {
      await short.ready;
      const url = `http://127.0.0.1:${short.port}`;
      const form = new FormData();
      for (let i = 0; i < FRAMES; i++) form.append("frames", new Blob([demoPhoto(2)]), "f.jpg");
      const before = await modelRuns(url);
      const res = await fetch(`${url}/v1/videos/frames?detector=tiny`, { method: "POST", body: form });
      assert.equal(res.status, 504);
      assert.equal((await res.json()).code, "deadline_exceeded");
      assert.equal(await abortedRequests("deadline_exceeded", url), 1);
      const atAnswer = (await modelRuns(url)) - before;
      await sleep(1500);
      const later = (await modelRuns(url)) - before;
      assert.equal(later, atAnswer, `model runs went on after the 504: ${atAnswer} -> ${later}`);
      console.log(`model runs for the upload: ${atAnswer} at the 504, ${later} 1.5 s later`);
    } finally {
      await short.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
