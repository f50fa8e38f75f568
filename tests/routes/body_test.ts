/**
 * The JSON token limit of routes/middleware/body.ts against the largest requests the API takes: every JSON body
 * field set, MAX_FRAMES frames each with a `data:` URL and a timestamp, stays under `jsonTokenLimit`; the count
 * stops just past the limit; characters inside strings count (an over-count only).
 */
import assert from "node:assert/strict";
import { countJsonTokens, jsonTokenLimit } from "../../routes/middleware/body.ts";
import { ExpressionJsonRequest, VideoJsonRequest } from "../../openapi/schemas.ts";
import { loadConfig } from "../../src/config.ts";

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
/** A value for every option field of `shape` (a string: the widest JSON form of one value). */
const options = (shape: Record<string, unknown>, skip: string) =>
  Object.fromEntries(Object.keys(shape).filter((k) => k !== skip).map((k) => [k, "value"]));

Deno.test("the largest JSON requests fit the token limit of the default config", () => {
  const config = loadConfig({});
  const limit = jsonTokenLimit(config);
  const image = "data:image/jpeg;base64,AAAA";
  const video = {
    frames: Array.from({ length: config.maxFrames }, (_, i) => ({ image, timestamp: i / 25 })),
    ...options(VideoJsonRequest.shape, "frames"),
  };
  const photo = { image, ...options(ExpressionJsonRequest.shape, "image") };
  const videoTokens = countJsonTokens(bytes(video), limit);
  console.log(`largest /v1/videos/frames JSON: ${videoTokens} tokens of ${limit}`);
  assert.ok(videoTokens <= limit, `${videoTokens} > ${limit}`);
  assert.ok(countJsonTokens(bytes(photo), limit) < 64);
});

Deno.test("countJsonTokens stops past the limit and counts values only when asked", () => {
  const many = bytes(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, 0])));
  assert.equal(countJsonTokens(many, 100), 101);
  const numbers = bytes({ data: new Array(5000).fill(0.5) });
  assert.equal(countJsonTokens(numbers, 100, false), 3); // { : [
  assert.equal(countJsonTokens(numbers, 100_000), 3 + 4999);
  assert.equal(countJsonTokens(bytes({ image: "a:b,c{d[" }), 100), 6); // 2 of each of { and :, one , and [
});
