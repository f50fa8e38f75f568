/**
 * Contract consistency against the real server on loopback: one answer for an empty image in every form, JSON
 * body fields held to their documented JSON types, unknown options refused by name, smoothing without tracks
 * refused, no invented detection score with detect=false, video timings that tell waiting for other frames
 * from waiting for the model, and latency buckets up to VIDEO_TIMEOUT_MS.
 */
import assert from "node:assert/strict";
import { demoPhoto, solidPng, startLoopbackServer, tinyModelDir } from "./fixtures.ts";

const dir = await tinyModelDir("fer-contract-");
const server = startLoopbackServer(dir, { DEFAULT_MODEL: "tiny", VIDEO_TIMEOUT_MS: "300000" });
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

      await t.step("unknown query, JSON and multipart options are a 400 naming the option", async () => {
        const q = await answer(
          await fetch(`${base}/v1/expressions?landmark=true`, {
            method: "POST",
            body: png,
            headers: { "content-type": "image/png" },
          }),
        );
        assert.equal(q.status, 400);
        assert.deepEqual(q.issues, [{ path: "query.landmark", message: 'unknown option "landmark"' }]);
        assert.match(q.detail, /unknown option "landmark"/);
        const j = await answer(await json("/v1/expressions", { image: b64(png), maxface: 2 }));
        assert.deepEqual(j.issues, [{ path: "maxface", message: 'unknown option "maxface"' }]);
        const v = await answer(
          await json("/v1/videos/frames", { frames: [{ image: b64(png), time: 1 }] }),
        );
        assert.deepEqual(v.issues, [{ path: "frames.0.time", message: 'unknown option "time"' }]);
        const form = new FormData();
        form.append("image", new Blob([png]), "p.png");
        form.append("maxFaces", "1");
        const f = await answer(await fetch(`${base}/v1/expressions`, { method: "POST", body: form }));
        assert.deepEqual(f.issues, [{ path: "maxFaces", message: 'unknown option "maxFaces"' }]);
      });

      await t.step("track=false with smoothing is a 400; smoothing=none is fine", async () => {
        const frames = [{ image: b64(png) }, { image: b64(png) }];
        const bad = await answer(await json("/v1/videos/frames?track=false&smoothing=ema", { frames }));
        assert.equal(bad.status, 400);
        assert.equal(bad.issues![0].path, "smoothing");
        assert.match(bad.detail, /^Cannot smooth with track=false/);
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
