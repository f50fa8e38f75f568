/**
 * `POST /v2/models/{id}/infer` (Open Inference Protocol / KServe V2) on the real server: a request written by
 * hand as KServe's documentation shows it (one FP32 tensor, flat row-major data) gets the manifest's outputs;
 * the logits it returns for a preprocessed crop give the same scores as `/v1/expressions?detect=false` on that
 * crop; the route is behind the API key; bad tensors are 400 problems naming what was expected.
 */
import assert from "node:assert/strict";
import { toTensor } from "../../model/preprocess.ts";
import { apiModelDir, solidPng } from "./fixtures.ts";
import { withApiServer } from "./user_script.ts";

const KEY = "v2-key";
const RGB: [number, number, number] = [200, 150, 120];

function post(base: string, path: string, body: unknown, key = KEY) {
  return fetch(`${base}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
  });
}

const softmax = (v: number[]) => {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

Deno.test("POST /v2/models/{id}/infer: a hand-written V2 request, checked against /v1/expressions", async () => {
  const manifest = JSON.parse(await Deno.readTextFile(`${await apiModelDir()}/scan-cci.manifest.json`));
  const { width, height } = manifest.input.size;
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) pixels.set(RGB, i * 3);
  const data = Array.from(toTensor({ data: pixels, width, height, channels: 3 }, manifest.input));
  await withApiServer(KEY, async ({ base }) => {
    // As in KServe's V2 protocol docs: { id?, inputs: [{ name, shape, datatype, data }], outputs? }.
    const request = {
      id: "42",
      inputs: [{ name: "input", shape: [2, 3, 224, 224], datatype: "FP32", data: [...data, ...data] }],
      outputs: [{ name: "logits" }],
    };
    const res = await post(base, "/v2/models/scan-cci/infer", request);
    assert.equal(res.status, 200);
    const out = await res.json();
    assert.equal(out.model_name, "scan-cci");
    assert.equal(out.id, "42");
    assert.equal(typeof out.model_version, "string");
    assert.equal(out.outputs.length, 1);
    const [logits] = out.outputs;
    assert.deepEqual([logits.name, logits.datatype, logits.shape], ["logits", "FP32", [2, 7]]);
    assert.deepEqual(logits.data.slice(0, 7), logits.data.slice(7), "two equal rows, two equal answers");

    // The same crop through the image API: its scores are the softmax of these logits, by label name.
    const png = await solidPng(width, height, RGB);
    const api = await (await fetch(`${base}/v1/expressions?detect=false&model=scan-cci`, {
      method: "POST",
      body: png,
      headers: { "content-type": "image/png", authorization: `Bearer ${KEY}` },
    })).json();
    const probs = softmax(logits.data.slice(0, 7));
    for (const [i, label] of (manifest.labels as string[]).entries()) {
      assert.ok(Math.abs(api.faces[0].expression.scores[label] - probs[i]) <= 1e-4, label);
    }

    // Without `outputs`: every output of the manifest, named as there.
    const all = await (await post(base, "/v2/models/scan-cci/infer", {
      inputs: [{ name: "input", shape: [1, 3, 224, 224], datatype: "FP32", data }],
    })).json();
    assert.deepEqual(
      all.outputs.map((o: { name: string }) => o.name),
      manifest.outputs.map((o: { name: string }) => o.name),
    );
  });
});

Deno.test("POST /v2/models/{id}/infer: API key, unknown model and bad tensors are problems", async () => {
  await withApiServer(KEY, async ({ base }) => {
    const good = {
      name: "input",
      shape: [1, 3, 224, 224],
      datatype: "FP32",
      data: new Array(3 * 224 * 224).fill(0),
    };
    const cases: [unknown, string, string, number, string, RegExp][] = [
      [{ inputs: [good] }, "", "scan-cci", 401, "unauthorized", /key/i],
      [{ inputs: [good] }, KEY, "nope", 404, "not_found", /nope/],
      [{ inputs: [{ ...good, datatype: "INT64" }] }, KEY, "scan-cci", 400, "invalid_request", /INT64/],
      [{ inputs: [{ ...good, name: "x" }] }, KEY, "scan-cci", 400, "invalid_request", /"input"/],
      [
        { inputs: [{ ...good, shape: [1, 3, 112, 112] }] },
        KEY,
        "scan-cci",
        400,
        "invalid_request",
        /N, 3, 224, 224/,
      ],
      [{ inputs: [{ ...good, shape: [2, 3, 224, 224] }] }, KEY, "scan-cci", 400, "invalid_request", /values/],
      [
        { inputs: [{ ...good, shape: [999, 3, 224, 224] }] },
        KEY,
        "scan-cci",
        400,
        "invalid_request",
        /at most/,
      ],
      [
        { inputs: [good], outputs: [{ name: "z" }] },
        KEY,
        "scan-cci",
        400,
        "invalid_request",
        /no output "z"/,
      ],
      [
        { inputs: [{ ...good, data: ["a"] }] },
        KEY,
        "scan-cci",
        400,
        "invalid_request",
        /inputs\.0\.data\.0: /,
      ],
    ];
    for (const [body, key, id, status, code, detail] of cases) {
      const res = await post(base, `/v2/models/${id}/infer`, body, key);
      const text = await res.clone().text();
      assert.equal(res.status, status, `${JSON.stringify(body).slice(0, 80)} ${text.slice(0, 300)}`);
      assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
      const p = await res.json();
      assert.equal(p.code, code);
      assert.match(p.detail, detail);
    }
  });
});
