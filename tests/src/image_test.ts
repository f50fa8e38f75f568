import assert from "node:assert/strict";
import { decodeImage, encodePng, type RawImage } from "../../src/image.ts";
import { ApiError } from "../../src/errors.ts";
import { bigPng, pattern } from "../fixtures/images/generate.ts";

const fixture = (name: string) => Deno.readFile(new URL(`../fixtures/images/${name}`, import.meta.url));

/** Mean absolute difference between a decoded image and the 64x48 reference pattern. */
function diffToPattern(img: RawImage): number {
  const ref = pattern();
  let sum = 0;
  for (let i = 0; i < ref.length; i++) sum += Math.abs(ref[i] - img.data[i]);
  return sum / ref.length;
}

async function rejectsWith(bytes: Uint8Array, code: string, pattern: RegExp, options = {}) {
  await assert.rejects(decodeImage(bytes, options), (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${err}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("decodeImage() decodes PNG losslessly to interleaved RGB", async () => {
  const img = await decodeImage(await fixture("rgb.png"));
  assert.deepEqual([img.width, img.height, img.channels, img.data.length], [64, 48, 3, 64 * 48 * 3]);
  assert.equal(diffToPattern(img), 0);
});

Deno.test("decodeImage() applies EXIF orientation before anything else", async () => {
  const img = await decodeImage(await fixture("exif6.jpg"));
  assert.deepEqual([img.width, img.height], [64, 48]);
  assert.ok(diffToPattern(img) < 3, `mean diff ${diffToPattern(img)}`);
  assert.ok(
    img.data[2] > 240 && img.data[(47 * 64 + 63) * 3 + 2] < 200,
    "top-left marker is back at the top left",
  );
});

Deno.test("decodeImage() turns grayscale, CMYK, RGBA, 16-bit and TIFF into 8-bit RGB", async () => {
  for (const name of ["gray.png", "cmyk.jpg", "rgba.png", "rgb16.png", "image.tiff", "rgb.jpg"]) {
    const img = await decodeImage(await fixture(name));
    assert.deepEqual([img.width, img.height, img.data.length], [64, 48, 64 * 48 * 3], name);
    if (name === "gray.png") {
      for (let i = 0; i < img.data.length; i += 3) {
        assert.ok(img.data[i] === img.data[i + 1] && img.data[i] === img.data[i + 2]);
      }
    } else {
      // CMYK round trips through an ICC conversion; the others are (nearly) exact.
      assert.ok(
        diffToPattern(img) < (name === "cmyk.jpg" ? 12 : 3),
        `${name}: mean diff ${diffToPattern(img)}`,
      );
    }
  }
});

Deno.test("decodeImage() takes the first frame of animated GIF and WebP", async () => {
  for (const name of ["animated.gif", "animated.webp"]) {
    const img = await decodeImage(await fixture(name));
    assert.deepEqual([img.width, img.height], [64, 48], name);
    assert.ok(diffToPattern(img) < 20, `${name}: mean diff ${diffToPattern(img)}`); // GIF is palettised
  }
});

Deno.test("decodeImage() decodes a 16x16 image", async () => {
  const img = await decodeImage(await fixture("tiny16.png"));
  assert.deepEqual([img.width, img.height], [16, 16]);
});

Deno.test("decodeImage() refuses empty, garbage, truncated and header-only data with 422", async () => {
  await rejectsWith(
    new Uint8Array(0),
    "undecodable_image",
    /^Cannot decode image: input is empty \(0 bytes\)$/,
  );
  await rejectsWith(
    await fixture("garbage.bin"),
    "undecodable_image",
    /^Cannot decode image: unknown format/,
  );
  await rejectsWith(
    await fixture("truncated.jpg"),
    "undecodable_image",
    /^Cannot decode image: truncated or corrupt/,
  );
  await rejectsWith(await fixture("header-only.jpg"), "undecodable_image", /^Cannot decode image: /);
});

Deno.test("decodeImage() refuses SVG with 415 and oversized input with 413", async () => {
  await rejectsWith(await fixture("image.svg"), "unsupported_media_type", /unsupported format "svg"/);
  await rejectsWith(
    await fixture("rgb.png"),
    "payload_too_large",
    /5954 bytes is over the limit of 100 bytes/,
    {
      maxInputBytes: 100,
    },
  );
});

Deno.test("decodeImage() refuses a 20000x20000 decompression bomb from its header, without decoding", async () => {
  const bomb = await bigPng(20000, 20000);
  assert.ok(bomb.length < 2_000_000);
  const before = Deno.memoryUsage().rss;
  const t0 = performance.now();
  await rejectsWith(bomb, "too_many_pixels", /20000x20000 is 400000000 pixels, over the limit of 40000000/);
  const ms = performance.now() - t0;
  const grew = Deno.memoryUsage().rss - before;
  // Decoding would allocate 1.2 GB; a header read allocates next to nothing.
  assert.ok(grew < 100 * 2 ** 20, `RSS grew by ${(grew / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(ms < 5000, `took ${ms} ms`); // generous: a decode would take tens of seconds
});

Deno.test("decodeImage() refuses 8000x8000 by the default 40 MP limit and decodes it when allowed", async () => {
  const big = await bigPng(8000, 8000);
  await rejectsWith(big, "too_many_pixels", /8000x8000 is 64000000 pixels/);
  const img = await decodeImage(big, { maxPixels: 64_000_000 });
  assert.deepEqual([img.width, img.height, img.data[0], img.data[1], img.data[2]], [8000, 8000, 0, 0, 0]);
});

Deno.test("encodePng() round trips through decodeImage()", async () => {
  const png = await encodePng({ data: pattern(), width: 64, height: 48, channels: 3 });
  assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(""), "PNG");
  assert.equal(diffToPattern(await decodeImage(png)), 0);
});
