import assert from "node:assert/strict";
import { decodeImage } from "../../src/image.ts";
import { DEMO_PHOTOS, faceModelDir } from "../faces/models.ts";
import denoJson from "../../deno.json" with { type: "json" };

// The CLI as `deno task detect` runs it: the task's own flags, the script resolved from the repository root.
const TASK = denoJson.tasks.detect.split(/\s+/).slice(1);
const ROOT = new URL("../../", import.meta.url);

async function detect(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...TASK.map((a) => (a.endsWith(".ts") ? new URL(a, ROOT).pathname : a)), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  return {
    code: out.code,
    lines: text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("deno task detect prints one JSON line per image, writes aligned crops, reports bad images", async () => {
  const modelDir = await faceModelDir();
  const dir = await Deno.makeTempDir();
  try {
    const garbage = `${dir}/garbage.jpg`;
    await Deno.writeFile(garbage, new Uint8Array(100).fill(7));
    const { code, lines } = await detect(
      DEMO_PHOTOS[0],
      garbage,
      "--aligned-dir",
      `${dir}/aligned`,
      "--model-dir",
      modelDir,
    );
    assert.equal(code, 1, "exit code 1 when any image failed");
    assert.equal(lines.length, 2);
    const [ok, bad] = lines;
    assert.deepEqual([ok.image, ok.width, ok.height, ok.faces.length], [DEMO_PHOTOS[0], 1920, 1280, 3]);
    for (const f of ok.faces) {
      // The API's face schema (names and rounding: tests/api/detect_cli_test.ts compares them to the API).
      assert.deepEqual(Object.keys(f), ["box", "detectionScore", "expression", "landmarks"]);
      assert.deepEqual(Object.keys(f.box), ["x", "y", "width", "height"]);
      assert.equal(f.landmarks.points5.length, 5);
      assert.ok(f.detectionScore > 0.5);
      assert.ok(Object.keys(f.expression.scores).includes(f.expression.label));
    }
    assert.deepEqual(bad, {
      image: garbage,
      error: {
        code: "undecodable_image",
        message: "Cannot decode image: unknown format (not JPEG, PNG, WebP, GIF, TIFF or AVIF)",
      },
    });
    for (let i = 0; i < 3; i++) {
      const crop = await decodeImage(await Deno.readFile(`${dir}/aligned/sample1_${i}.png`));
      assert.deepEqual([crop.width, crop.height], [224, 224]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task detect names the command to run when models are missing, and rejects bad options", async () => {
  const empty = await Deno.makeTempDir();
  try {
    const missing = await detect(DEMO_PHOTOS[0], "--model-dir", empty);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /face-detector-ssd\.manifest\.json is missing; build it with `deno task models --out /,
    );
  } finally {
    await Deno.remove(empty);
  }
  const bad = await detect(DEMO_PHOTOS[0], "--min-confidence", "abc");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Cannot parse --min-confidence: "abc" is not a number >= 0/);
  const badDetector = await detect(DEMO_PHOTOS[0], "--detector", "yolo");
  assert.equal(badDetector.code, 2);
  assert.match(
    badDetector.stderr,
    /Cannot parse --detector: "yolo" is not ssd-blazeface or ssd-multiscale or ssd or tiny or blazeface/,
  );
  const none = await detect();
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^usage: deno task detect IMAGE\.\.\./);
});
