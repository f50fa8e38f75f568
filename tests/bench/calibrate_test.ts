/**
 * `deno task model:calibrate` end to end on the tiny fixture model and a generated labelled set: a temperature
 * is fitted and stored in the manifest, the real server still passes its sha256 check and serves it in
 * `/v1/models`, and its scores are softmax(logits / T) of the model's logits (computed here from the fixture's
 * weights) with the labels of the uncalibrated model.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { softmax } from "../../src/classify.ts";
import { LABEL_ORDERS } from "../../model/spec.ts";
import { solidPng, startLoopbackServer, tinyModelDir, writeTinyModel } from "../api/fixtures.ts";
import { calibrateModel } from "./calibrate_run.ts";

// The fixture's weights (tests/api/fixtures.ts writeTinyModel): logits = mean normalised rgb @ W + b, close
// enough to the served crop's to label the generated set with the model's own answer.
const W = [[2, -1, 0.5, 0, 1, -2, 0.3], [-1, 2, 0, 0.5, -1, 1, 0.2], [0.5, 0, -1, 2, 0, 0.5, -0.4]];
const B = [0.1, 0, 0, 0, 0.2, 0, 0];
const tinyLogits = (rgb: number[]) =>
  B.map((b, k) => b + rgb.reduce((s, v, c) => s + ((v / 255 - 0.5) / 0.5) * W[c][k], 0));
const argmax = (v: number[]) => v.indexOf(Math.max(...v));

Deno.test("model:calibrate fits, stores and serves a temperature; scores follow softmax(logits / T), labels stay", async () => {
  const dir = await tinyModelDir("fer-calibrate-");
  const data = await Deno.makeTempDir({ prefix: "fer-calibrate-set-" });
  try {
    // 42 solid colours (seeded): each labelled with the model's own answer four times in five, else another
    // class, so the model is right most of the time while its flat scores (top ~0.3) say otherwise.
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const lines = ["path,label"];
    const colours: number[][] = [];
    for (let i = 0; i < 42; i++) {
      const rgb = [0, 1, 2].map(() => Math.floor(rand() * 256));
      colours.push(rgb);
      const own = argmax(tinyLogits(rgb));
      const label = i % 5 === 4 ? (own + 1 + (i % 6)) % 7 : own;
      await Deno.writeFile(join(data, `c${i}.png`), await solidPng(16, 16, rgb as [number, number, number]));
      lines.push(`c${i}.png,${LABEL_ORDERS.affectnet[label]}`);
    }
    await Deno.writeTextFile(join(data, "labels.csv"), lines.join("\n") + "\n");

    await writeTinyModel(dir, { id: "plain" });
    const manifestPath = join(dir, "tiny.manifest.json");
    const c = await calibrateModel({ manifestPath, data, every: 1, fittedOn: "generated colours" });
    assert.equal(c.samples, 42);
    assert.ok(Math.abs(Math.log(c.temperature)) > 0.05, `temperature ${c.temperature} is not 1`);
    assert.ok(c.eceAfter < c.eceBefore, `ECE ${c.eceBefore} -> ${c.eceAfter}`);
    const stored = JSON.parse(await Deno.readTextFile(manifestPath)).calibration;
    assert.deepEqual(stored, { ...c, method: "temperature", fittedOn: "generated colours" });
    // A second fit is on the model's own scores again, not on the stored temperature's: the same T.
    const again = await calibrateModel({ manifestPath, data, fittedOn: "generated colours" });
    assert.equal(again.temperature, c.temperature);
    const half = await calibrateModel({ manifestPath, data, every: 2, fittedOn: "generated colours" });
    assert.equal(half.samples, 21);
    await calibrateModel({ manifestPath, data, fittedOn: "generated colours" });

    const server = startLoopbackServer(dir, { DEFAULT_MODEL: "tiny" });
    await server.ready; // the rewritten manifest still passes the sha256 check of the ONNX file
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const models = await (await fetch(`${base}/v1/models`)).json();
      const info = models.models.find((m: { id: string }) => m.id === "tiny");
      assert.deepEqual(info.calibration, stored);
      assert.equal(models.models.find((m: { id: string }) => m.id === "plain").calibration, undefined);
      let changed = 0;
      const ask = async (model: string, rgb: number[]) => {
        const res = await fetch(`${base}/v1/expressions?detect=false&model=${model}`, {
          method: "POST",
          body: await solidPng(16, 16, rgb as [number, number, number]),
          headers: { "content-type": "image/png" },
        });
        assert.equal(res.status, 200);
        return (await res.json()).faces[0].expression as { label: string; scores: Record<string, number> };
      };
      for (const rgb of colours.slice(0, 8)) {
        // `plain` is the same network without a temperature: its scores are softmax(logits).
        const raw = await ask("plain", rgb), scaled = await ask("tiny", rgb);
        assert.equal(scaled.label, raw.label);
        const labels = Object.keys(raw.scores);
        const want = softmax(labels.map((l) => Math.log(raw.scores[l]) / c.temperature));
        labels.forEach((label, k) => {
          // Served scores are rounded to 1e-4, which the log of a small raw score magnifies a little.
          assert.ok(
            Math.abs(scaled.scores[label] - want[k]) < 1e-3,
            `${label}: ${scaled.scores[label]} vs ${want[k]}`,
          );
          if (Math.abs(scaled.scores[label] - raw.scores[label]) > 1e-2) changed++;
        });
      }
      assert.ok(changed > 0, "the served scores are not the uncalibrated softmax");
    } finally {
      await server.shutdown();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(data, { recursive: true });
  }
});
