/**
 * `deno task detect` (src/detect.ts) prints each face exactly as the API answers it: same field names, same
 * rounding (0.01 px, scores 1e-4), same numbers for the same photo and model (the face-api baseline with
 * landmarks), so a script can move between the CLI and the API.
 */
import assert from "node:assert/strict";
import { main } from "../../src/detect.ts";
import { FaceResult } from "../../openapi/schemas.ts";
import { faceModelDir } from "../faces/models.ts";
import { demoPhoto } from "./fixtures.ts";
import { withApiServer } from "./user_script.ts";

const KEY = "detect-key";

/** Runs the CLI in-process and returns the JSON lines it printed. */
async function detectLines(args: string[]): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (line: string) => lines.push(line);
  try {
    assert.equal(await main(args), 0);
  } finally {
    console.log = log;
  }
  return lines.map((l) => JSON.parse(l));
}

function decimals(v: number): number {
  const s = String(v);
  return s.includes(".") ? s.split(".")[1].length : 0;
}

Deno.test("deno task detect prints the API's FaceResult: same names, same rounding, same numbers", async () => {
  await withApiServer(KEY, async ({ base, dir }) => {
    const photo = `${dir}/photo.jpg`;
    await Deno.writeFile(photo, demoPhoto(2));
    const [line] = await detectLines([photo, "--model-dir", await faceModelDir()]);
    const res = await fetch(`${base}/v1/expressions?model=faceapi-expression&landmarks=true`, {
      method: "POST",
      body: demoPhoto(2),
      headers: { "content-type": "image/jpeg", authorization: `Bearer ${KEY}` },
    });
    assert.equal(res.status, 200);
    const api = await res.json();
    const faces = line.faces as Record<string, unknown>[];
    assert.ok(faces.length > 0);
    assert.deepEqual({ ...line, faces: undefined }, {
      image: photo,
      width: api.image.width,
      height: api.image.height,
      faces: undefined,
    });
    assert.deepEqual(faces, api.faces);
    for (const face of faces) {
      // The API's schema, and nothing else (a strict parse rejects extra fields).
      FaceResult.strict().parse(face);
      const f = face as typeof api.faces[number];
      for (const v of [f.box.x, f.box.y, f.box.width, f.box.height, ...f.landmarks.points68.flat()]) {
        assert.ok(decimals(v) <= 2, String(v));
      }
      for (const v of [f.detectionScore, f.expression.confidence, ...Object.values(f.expression.scores)]) {
        assert.ok(decimals(v as number) <= 4, String(v));
      }
    }
  });
});
