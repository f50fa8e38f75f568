import assert from "node:assert/strict";
import { fromBase64, parseTimestamps, withBodyOptions } from "../../routes/input.ts";
import { VideoJsonRequest, VideoOptions } from "../../openapi/schemas.ts";
import { ApiError } from "../../src/errors.ts";

Deno.test("withBodyOptions(): JSON body fields override the validated query; absent ones keep it", () => {
  const query = VideoOptions.parse({ detect: "false", maxFaces: "3", smoothing: "ema" });
  const body = VideoJsonRequest.parse({ frames: [{ image: "AQID" }], maxFaces: 5, model: "m" });
  const { frames: _, ...fromBody } = body;
  const o = withBodyOptions(query, fromBody);
  assert.equal(o.detect, false);
  assert.equal(o.maxFaces, 5);
  assert.equal(o.smoothing, "ema");
  assert.equal(o.window, 5);
  assert.equal(o.model, "m", "an option the query does not carry at all");
  // A body field left out is undefined after validation (no default), so the query's value stands.
  assert.equal(body.smoothing, undefined);
});

Deno.test("fromBase64() accepts data URLs and URL-safe base64, refuses other text", () => {
  assert.deepEqual([...fromBase64("data:image/png;base64,AQID", "image")], [1, 2, 3]);
  assert.deepEqual([...fromBase64("_-8", "image")], [255, 239]);
  assert.throws(
    () => fromBase64("not base64!", "frames.3.image"),
    (e) => e instanceof ApiError && e.issues![0].path === "frames.3.image",
  );
});

Deno.test("parseTimestamps() reads one number per frame and names the field otherwise", () => {
  assert.deepEqual(parseTimestamps(undefined, 2), [undefined, undefined]);
  assert.deepEqual(parseTimestamps("[0.5, 1]", 2), [0.5, 1]);
  for (
    const [text, message] of [["{", /not valid JSON/], ['["a"]', /array of numbers/], [
      "[1]",
      /1 given for 2/,
    ]]
  ) {
    assert.throws(
      () => parseTimestamps(text as string, 2),
      (e) =>
        e instanceof ApiError && e.issues![0].path.startsWith("timestamps") &&
        (message as RegExp).test(e.message),
    );
  }
});
