/**
 * JSON bodies against the real server on loopback (issue 10, finding 2): a body of 800,000 short keys (8 MB,
 * under MAX_JSON_BODY_BYTES) gets a 413 problem naming the token limit while a concurrent `/healthz` probe keeps
 * being answered; a body at the limit is parsed (its unknown keys are a 400); a JSON body over
 * MAX_JSON_BODY_BYTES is 413 though the same image as a raw body is served; a V2 tensor longer than the token
 * limit is served (its values are not counted) and a V2 tensor of strings is refused naming its first element.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { demoPhoto, startLoopbackServer, tinyModelDir } from "./fixtures.ts";
import { jsonTokenLimit } from "../../routes/middleware/body.ts";

const dir = await tinyModelDir("fer-json-");
const LIMIT = jsonTokenLimit({ maxFrames: 256 });

/** `{"0000a":0,...}`: `keys` distinct keys, 10 bytes each. */
function manyKeys(keys: number): Uint8Array<ArrayBuffer> {
  const parts = Array.from({ length: keys }, (_, i) => `"${i.toString(36).padStart(5, "0")}":0`);
  return new TextEncoder().encode(`{${parts.join(",")}}`) as Uint8Array<ArrayBuffer>;
}

const json = (body: BodyInit) => ({ method: "POST", body, headers: { "content-type": "application/json" } });

Deno.test({
  name: "JSON bodies: the token limit (with /healthz answered meanwhile), MAX_JSON_BODY_BYTES, V2 tensors",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    // MAX_JSON_BODY_BYTES of 9 MB: the default's 8.7 MB with room for the 800,000-key body.
    const server = startLoopbackServer(dir, { DEFAULT_MODEL: "tiny", MAX_JSON_BODY_BYTES: "9000000" });
    await server.ready;
    const base = `http://127.0.0.1:${server.port}`;
    try {
      await t.step("800,000 keys: 413 naming the limit, /healthz answered while it is handled", async () => {
        const body = manyKeys(800_000);
        assert.ok(body.length < 9_000_000);
        let done = false;
        const health: number[] = [];
        const probe = (async () => {
          while (!done) {
            const r = await fetch(`${base}/healthz`);
            await r.body?.cancel();
            health.push(r.status);
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
        try {
          const res = await fetch(`${base}/v1/expressions`, json(body));
          assert.equal(res.status, 413);
          assert.equal(res.headers.get("content-type"), "application/problem+json");
          const problem = await res.json();
          assert.equal(problem.code, "payload_too_large");
          assert.match(problem.detail, new RegExp(`more than ${LIMIT} keys, values, objects and arrays`));
        } finally {
          done = true;
          await probe;
        }
        assert.ok(health.length > 0, "the probe got no answer");
        assert.ok(health.every((s) => s === 200), `probe statuses: ${health}`);
      });

      await t.step("a body at the limit is parsed: its unknown keys are a 400 naming them", async () => {
        // `{"image":"..."` plus n - 1 keys: 1 brace + n colons + n - 1 commas = 2n tokens.
        const at = (n: number) =>
          `{"image":"${Buffer.from(demoPhoto(1)).toString("base64")}",` +
          Array.from({ length: n - 1 }, (_, i) => `"x${i}":0`).join(",") + "}";
        const ok = await fetch(`${base}/v1/expressions`, json(at(LIMIT / 2)));
        assert.equal(ok.status, 400);
        const problem = await ok.json();
        assert.equal(problem.code, "invalid_request");
        assert.match(problem.detail, /unknown option "x0"/);
        const over = await fetch(`${base}/v1/expressions`, json(at(LIMIT / 2 + 1)));
        assert.equal(over.status, 413);
        assert.equal((await over.json()).code, "payload_too_large");
      });

      await t.step(
        "V2: a tensor of more values than the limit is served; strings are refused by field",
        async () => {
          const meta = await (await fetch(`${base}/v2/models/tiny`)).json();
          const shape = meta.inputs[0].shape.map((d: number) => (d < 0 ? 1 : d));
          const count = shape.reduce((a: number, b: number) => a * b, 1);
          assert.ok(count > LIMIT, `${count} values`);
          const input = {
            name: meta.inputs[0].name,
            shape,
            datatype: "FP32",
            data: new Array(count).fill(0.5),
          };
          const res = await fetch(`${base}/v2/models/tiny/infer`, json(JSON.stringify({ inputs: [input] })));
          assert.equal(res.status, 200, await res.clone().text());
          const bad = await fetch(
            `${base}/v2/models/tiny/infer`,
            json(JSON.stringify({ inputs: [{ ...input, data: new Array(count).fill("a") }] })),
          );
          assert.equal(bad.status, 400);
          const problem = await bad.json();
          assert.equal(problem.code, "invalid_request");
          assert.match(problem.detail, /inputs\.0\.data\.0: Invalid input: expected number, received string/);
        },
      );
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "a JSON body over MAX_JSON_BODY_BYTES is 413; the same image as a raw body is served",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const photo = demoPhoto(2);
    const limit = 4096;
    assert.ok(photo.length > limit);
    const server = startLoopbackServer(dir, { DEFAULT_MODEL: "tiny", MAX_JSON_BODY_BYTES: String(limit) });
    await server.ready;
    const base = `http://127.0.0.1:${server.port}`;
    try {
      const body = JSON.stringify({ image: Buffer.from(photo).toString("base64") });
      const res = await fetch(`${base}/v1/expressions`, json(body));
      assert.equal(res.status, 413);
      const problem = await res.json();
      assert.equal(problem.code, "payload_too_large");
      assert.match(problem.detail, new RegExp(`JSON body is over the limit of ${limit} bytes`));
      // Chunked (no Content-Length): the limit is counted on the stream.
      const chunked = await fetch(`${base}/v1/expressions`, json(new Blob([body]).stream()));
      assert.equal(chunked.status, 413);
      assert.equal((await chunked.json()).code, "payload_too_large");
      const raw = await fetch(`${base}/v1/expressions`, {
        method: "POST",
        body: photo,
        headers: { "content-type": "image/jpeg" },
      });
      assert.equal(raw.status, 200);
      await raw.body?.cancel();
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
