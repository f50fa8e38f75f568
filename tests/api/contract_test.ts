/**
 * Contract consistency against the real server on loopback: one answer for an empty image (photo, frame, video)
 * in every form, malformed JSON named, JSON body fields held to their documented JSON types, unknown options
 * refused by name on every endpoint that takes options (V2 infer included), smoothing without tracks refused, no invented detection score with detect=false, video timings that tell waiting for other frames
 * from waiting for the model, and latency buckets up to VIDEO_TIMEOUT_MS.
 */
import assert from "node:assert/strict";
import { demoPhoto, solidPng, startLoopbackServer, TINY_SIZE, tinyModelDir } from "./fixtures.ts";

const dir = await tinyModelDir("fer-contract-");
const server = startLoopbackServer(dir, {
  DEFAULT_MODEL: "tiny",
  VIDEO_TIMEOUT_MS: "300000",
  DATA_DIR: `${dir}/data`,
});
await server.ready;
const base = `http://127.0.0.1:${server.port}`;
const png = await solidPng(32, 32, [200, 40, 40]);
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));

interface Problem {
  status: number;
  code: string;
  detail: string;
  issues?: { path: string; message: string }[];
}

async function answer(res: Response): Promise<Problem & Record<string, unknown>> {
  return { ...(await res.json()), status: res.status };
}

const json = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });

Deno.test({
  name: "API contract: empty images, JSON types, unknown options, smoothing, detect=false, timings, buckets",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    try {
      await t.step("an empty image gets one answer in every form (raw, multipart, JSON)", async () => {
        const form = new FormData();
        form.append("image", new Blob([]), "empty.jpg");
        const answers = await Promise.all([
          fetch(`${base}/v1/expressions`, {
            method: "POST",
            body: new Uint8Array(0),
            headers: { "content-type": "image/jpeg" },
          }).then(answer),
          fetch(`${base}/v1/expressions`, { method: "POST", body: form }).then(answer),
          json("/v1/expressions", { image: "" }).then(answer),
        ]);
        for (const a of answers) {
          assert.deepEqual(
            { status: a.status, code: a.code, detail: a.detail },
            {
              status: 422,
              code: "undecodable_image",
              detail: "Cannot decode image: input is empty (0 bytes)",
            },
          );
        }
      });

      await t.step(
        'an empty frame gets one answer as a multipart part or JSON "" (naming the frame)',
        async () => {
          const form = new FormData();
          form.append("frames", new Blob([png]), "a.png");
          form.append("frames", new Blob([]), "empty.jpg");
          const answers = await Promise.all([
            fetch(`${base}/v1/videos/frames`, { method: "POST", body: form }).then(answer),
            json("/v1/videos/frames", { frames: [{ image: b64(png) }, { image: "" }] }).then(answer),
          ]);
          for (const a of answers) {
            assert.deepEqual(
              { status: a.status, code: a.code, detail: a.detail },
              {
                status: 422,
                code: "undecodable_image",
                detail: "frames[1]: Cannot decode image: input is empty (0 bytes)",
              },
            );
          }
        },
      );

      await t.step("an empty video gets one answer as a raw body or a multipart file", async () => {
        const form = new FormData();
        form.append("video", new Blob([]), "empty.mp4");
        const answers = await Promise.all([
          fetch(`${base}/v1/videos`, {
            method: "POST",
            body: new Uint8Array(0),
            headers: { "content-type": "video/mp4" },
          }).then(answer),
          fetch(`${base}/v1/videos`, { method: "POST", body: form }).then(answer),
        ]);
        for (const a of answers) {
          assert.deepEqual(
            { status: a.status, code: a.code, detail: a.detail },
            { status: 422, code: "undecodable_video", detail: "Cannot read video: input is empty (0 bytes)" },
          );
        }
      });

      await t.step("malformed or empty JSON is a 400 that says why", async () => {
        const bad = await answer(
          await fetch(`${base}/v1/expressions`, {
            method: "POST",
            body: '{"image": x}',
            headers: { "content-type": "application/json" },
          }),
        );
        assert.equal(bad.status, 400);
        assert.equal(bad.code, "invalid_request");
        assert.match(bad.detail, /^Cannot read json: the body is malformed JSON \(.*token.*\)$/);
        assert.deepEqual(bad.issues, [{ path: "(body)", message: "expected a JSON object" }]);
        const empty = await answer(
          await fetch(`${base}/v1/expressions`, {
            method: "POST",
            body: "",
            headers: { "content-type": "application/json" },
          }),
        );
        assert.deepEqual({ status: empty.status, detail: empty.detail }, {
          status: 400,
          detail: "Cannot read json: the body is empty (0 bytes)",
        });
      });

      await t.step("JSON body fields take their JSON types; the query string coerces", async () => {
        const ok = await json("/v1/expressions", { image: b64(png), maxFaces: 1, landmarks: false });
        assert.equal(ok.status, 200);
        await ok.body?.cancel();
        for (const [field, value] of [["maxFaces", "1"], ["landmarks", 1], ["detect", "false"]] as const) {
          const a = await answer(await json("/v1/expressions", { image: b64(png), [field]: value }));
          assert.equal(a.status, 400, field);
          assert.equal(a.issues![0].path, field);
          assert.match(a.issues![0].message, new RegExp(`^${field}: expected a JSON (number|boolean)`));
          assert.match(a.detail, new RegExp(`^Cannot read json: ${field}: `), "the detail names the field");
        }
        const q = await fetch(`${base}/v1/expressions?maxFaces=1&landmarks=0&detect=1`, {
          method: "POST",
          body: png,
          headers: { "content-type": "image/png" },
        });
        assert.equal(q.status, 200);
        await q.body?.cancel();
      });

      await t.step("every validation message names its field", async () => {
        const a = await answer(await json("/v1/expressions", { image: b64(png), maxFaces: 1000 }));
        assert.equal(a.status, 400);
        assert.equal(a.issues![0].path, "maxFaces");
        assert.match(a.issues![0].message, /^maxFaces: /);
        const q = await answer(
          await fetch(`${base}/v1/expressions?minConfidence=2`, { method: "POST", body: png }),
        );
        assert.match(q.issues![0].message, /^query\.minConfidence: /);
        assert.match(q.detail, /query\.minConfidence/);
      });

      await t.step("every issue message starts with its path, checks outside zod included", async () => {
        const raw = (q: string) =>
          fetch(`${base}/v1/expressions?${q}`, {
            method: "POST",
            body: png,
            headers: { "content-type": "image/png" },
          }).then(answer);
        const tensor = { name: "input", shape: [1, 3, TINY_SIZE, TINY_SIZE], datatype: "INT8", data: [] };
        const cases: [Promise<Problem>, string, string][] = [
          [
            raw("maxFaces=1&maxFaces=2"),
            "query.maxFaces",
            "query.maxFaces: given 2 times, expected one value",
          ],
          [raw("maxFaces=abc"), "query.maxFaces", 'query.maxFaces: expected a number, got "abc"'],
          [
            json("/v1/expressions", { image: b64(png), landmarks: null }).then(answer),
            "landmarks",
            "landmarks: expected a JSON boolean, got null",
          ],
          [
            json("/v1/expressions", { image: b64(png), landmarks: true, detect: false }).then(answer),
            "landmarks",
            "landmarks: needs detect=true",
          ],
          [
            json("/v1/videos/frames", { frames: [{ image: b64(png) }, { image: "!" }] }).then(answer),
            "frames.1.image",
            "frames.1.image: expected base64 image bytes",
          ],
          [
            json("/v2/models/tiny/infer", { inputs: [tensor] }).then(answer),
            "inputs.0.datatype",
            "inputs.0.datatype: expected FP32",
          ],
        ];
        for (const [p, path, message] of cases) {
          const a = await p;
          assert.equal(a.status, 400, message);
          assert.deepEqual(a.issues, [{ path, message }]);
        }
      });

      await t.step("unknown query, JSON and multipart options are a 400 naming the option", async () => {
        const q = await answer(
          await fetch(`${base}/v1/expressions?landmark=true`, {
            method: "POST",
            body: png,
            headers: { "content-type": "image/png" },
          }),
        );
        assert.equal(q.status, 400);
        assert.deepEqual(q.issues, [{
          path: "query.landmark",
          message: 'query.landmark: unknown option "landmark"',
        }]);
        assert.match(q.detail, /unknown option "landmark"/);
        const j = await answer(await json("/v1/expressions", { image: b64(png), maxface: 2 }));
        assert.deepEqual(j.issues, [{ path: "maxface", message: 'maxface: unknown option "maxface"' }]);
        const v = await answer(
          await json("/v1/videos/frames", { frames: [{ image: b64(png), time: 1 }] }),
        );
        assert.deepEqual(v.issues, [{
          path: "frames.0.time",
          message: 'frames.0.time: unknown option "time"',
        }]);
        const form = new FormData();
        form.append("image", new Blob([png]), "p.png");
        form.append("maxFaces", "1");
        const f = await answer(await fetch(`${base}/v1/expressions`, { method: "POST", body: form }));
        assert.deepEqual(f.issues, [{
          path: "maxFaces",
          message: 'maxFaces: unknown form field "maxFaces" (options go in the query string: ?maxFaces=...)',
        }]);
      });

      await t.step("video jobs, job queries and V2 infer refuse unknown options by name too", async () => {
        const video = await answer(
          await fetch(`${base}/v1/videos?landmark=true`, {
            method: "POST",
            body: new Uint8Array(16),
            headers: { "content-type": "video/mp4" },
          }),
        );
        assert.equal(video.status, 400);
        assert.deepEqual(video.issues, [{
          path: "query.landmark",
          message: 'query.landmark: unknown option "landmark"',
        }]);
        const form = new FormData();
        form.append("video", new Blob([new Uint8Array(16)]), "v.mp4");
        form.append("fps", "2");
        const field = await answer(await fetch(`${base}/v1/videos`, { method: "POST", body: form }));
        assert.equal(field.status, 400);
        assert.deepEqual(field.issues, [{
          path: "fps",
          message: 'fps: unknown form field "fps" (options go in the query string: ?fps=...)',
        }]);
        const list = await answer(await fetch(`${base}/v1/jobs?limt=5`));
        assert.deepEqual(list.issues, [{ path: "query.limt", message: 'query.limt: unknown option "limt"' }]);
        const tensor = {
          name: "input",
          shape: [1, 3, TINY_SIZE, TINY_SIZE],
          datatype: "FP32",
          data: new Array(3 * TINY_SIZE * TINY_SIZE).fill(0),
        };
        const ok = await json("/v2/models/tiny/infer", { inputs: [tensor], parameters: { any: 1 } });
        assert.equal(ok.status, 200, "parameters stays the protocol's open extension point");
        await ok.body?.cancel();
        const top = await answer(await json("/v2/models/tiny/infer", { inputs: [tensor], output: [] }));
        assert.deepEqual(top.issues, [{ path: "output", message: 'output: unknown option "output"' }]);
        const inner = await answer(
          await json("/v2/models/tiny/infer", { inputs: [{ ...tensor, contents: {} }] }),
        );
        assert.deepEqual(inner.issues, [{
          path: "inputs.0.contents",
          message: 'inputs.0.contents: unknown option "contents"',
        }]);
        const query = await answer(await json("/v2/models/tiny/infer?binary=1", { inputs: [tensor] }));
        assert.equal(query.status, 400);
        assert.deepEqual(query.issues, [{
          path: "query.binary",
          message: 'query.binary: unknown option "binary"',
        }]);
      });

      await t.step("track=false with smoothing is a 400; smoothing=none is fine", async () => {
        const frames = [{ image: b64(png) }, { image: b64(png) }];
        const bad = await answer(await json("/v1/videos/frames?track=false&smoothing=ema", { frames }));
        assert.equal(bad.status, 400);
        assert.deepEqual(bad.issues!.map((i) => i.path), ["smoothing", "track"], "names both options");
        assert.match(bad.detail, /^Cannot smooth with track=false/);
        const job = await answer(
          await fetch(`${base}/v1/videos?track=false&smoothing=window`, {
            method: "POST",
            body: new Uint8Array(16),
            headers: { "content-type": "video/mp4" },
          }),
        );
        assert.deepEqual(
          { status: job.status, code: job.code, paths: job.issues!.map((i) => i.path) },
          { status: 400, code: "invalid_request", paths: ["smoothing", "track"] },
          "a video job is held to the same rule",
        );
        const body = await answer(
          await json("/v1/videos/frames", { frames, track: false, smoothing: "window" }),
        );
        assert.equal(body.status, 400);
        const ok = await json("/v1/videos/frames?track=false&smoothing=none", { frames });
        assert.equal(ok.status, 200);
        await ok.body?.cancel();
      });

      await t.step("detect=false reports detectionScore null, detection a real score", async () => {
        const send = (q: string) =>
          fetch(`${base}/v1/expressions?${q}`, {
            method: "POST",
            body: demoPhoto(2),
            headers: { "content-type": "image/jpeg" },
          }).then((r) => r.json());
        const crop = await send("detect=false");
        assert.equal(crop.faces.length, 1);
        assert.equal(crop.faces[0].detectionScore, null);
        const found = await send("detector=tiny");
        assert.ok(found.faces.length > 0);
        for (const f of found.faces) assert.ok(typeof f.detectionScore === "number" && f.detectionScore > 0);
      });

      await t.step("video timings: classifyMs = framesWaitMs + queueMs + inferenceMs", async () => {
        const form = new FormData();
        for (let i = 0; i < 6; i++) form.append("frames", new Blob([demoPhoto(2)]), "f.jpg");
        const res = await fetch(`${base}/v1/videos/frames?detector=tiny`, { method: "POST", body: form });
        assert.equal(res.status, 200);
        const tm = (await res.json()).timings;
        assert.ok(tm.framesWaitMs >= 0 && tm.queueMs >= 0 && tm.inferenceMs > 0, JSON.stringify(tm));
        assert.ok(
          Math.abs(tm.classifyMs - (tm.framesWaitMs + tm.queueMs + tm.inferenceMs)) < 0.05,
          JSON.stringify(tm),
        );
      });

      await t.step(
        "the latency histogram has buckets up to VIDEO_TIMEOUT_MS (300 s here: up to 480 s)",
        async () => {
          const text = await (await fetch(`${base}/metrics`)).text();
          const bounds = [
            ...new Set(
              [...text.matchAll(/^fer_http_request_duration_seconds_bucket\{.*le="([^"]+)".*$/gm)].map((m) =>
                m[1]
              ),
            ),
          ];
          // 30 s, then doubling from 60 s to the first bound at or past the deadline.
          assert.deepEqual(bounds.slice(-6), ["30", "60", "120", "240", "480", "+Inf"]);
        },
      );
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
