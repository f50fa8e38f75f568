import assert from "node:assert/strict";
import {
  type Affine,
  alignFace,
  ARCFACE_TEMPLATE_112,
  invertAffine,
  landmarks5From68,
  type Point,
  similarityTransform,
  templateFor,
  warpAffine,
} from "../../src/faces/align.ts";
import type { RawImage } from "../../src/image.ts";

const apply = (
  [a, b, tx, c, d, ty]: Affine,
  [x, y]: Point,
): Point => [a * x + b * y + tx, c * x + d * y + ty];

function noise(width: number, height: number, seed = 1): RawImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return { data, width, height, channels: 3 };
}

Deno.test("similarityTransform() recovers an exact rotation + scale + translation", () => {
  const angle = 0.4, scale = 1.7;
  const truth: Affine = [
    scale * Math.cos(angle),
    -scale * Math.sin(angle),
    12.5,
    scale * Math.sin(angle),
    scale * Math.cos(angle),
    -3,
  ];
  const src: Point[] = [[10, 20], [50, 22], [30, 40], [15, 60], [45, 61]];
  const m = similarityTransform(src, src.map((p) => apply(truth, p)));
  m.forEach((v, i) => assert.ok(Math.abs(v - truth[i]) < 1e-9, `m[${i}] = ${v}, expected ${truth[i]}`));
});

Deno.test("similarityTransform() is the least-squares fit: noisy points stay near the template", () => {
  const dst = templateFor(224);
  const src = dst.map(([x, y], i): Point => [x / 2 + 100 + (i % 2 ? 0.8 : -0.8), y / 2 + 50]);
  const m = similarityTransform(src, dst);
  const rms = Math.sqrt(
    dst.reduce((s, d, i) => s + (apply(m, src[i])[0] - d[0]) ** 2 + (apply(m, src[i])[1] - d[1]) ** 2, 0) / 5,
  );
  assert.ok(rms < 2, `rms ${rms}`);
  assert.ok(Math.abs(m[0] - 2) < 0.05 && Math.abs(m[3]) < 0.05, "scale ~2, no rotation");
});

Deno.test("templateFor() keeps pixel centres: 112 is the ArcFace template, 224 doubles around centres", () => {
  assert.deepEqual(templateFor(112).map((p) => p.map((v) => Number(v.toFixed(6)))), ARCFACE_TEMPLATE_112);
  assert.deepEqual(templateFor(224)[0].map((v) => Number(v.toFixed(4))), [77.0892, 103.8926]);
});

Deno.test("warpAffine() is exact for the identity and integer shifts, black outside", () => {
  const img = noise(20, 16);
  assert.deepEqual(warpAffine(img, [1, 0, 0, 0, 1, 0], 20, 16).data, img.data);
  const shifted = warpAffine(img, [1, 0, 3, 0, 1, -2], 20, 16); // output(u, v) = input(u - 3, v + 2)
  for (const [u, v] of [[3, 0], [10, 5], [19, 13]]) {
    for (let k = 0; k < 3; k++) {
      assert.equal(shifted.data[(v * 20 + u) * 3 + k], img.data[((v + 2) * 20 + u - 3) * 3 + k]);
    }
  }
  assert.deepEqual([...shifted.data.subarray(0, 3)], [0, 0, 0], "left columns come from outside: black");
});

Deno.test("warpAffine() interpolates bilinearly at half-pixel offsets (cv2 convention)", () => {
  const img = noise(8, 8);
  const out = warpAffine(img, [1, 0, -0.5, 0, 1, 0], 7, 8); // output(u) = input(u + 0.5)
  for (let u = 0; u < 7; u++) {
    const a = img.data[(2 * 8 + u) * 3], b = img.data[(2 * 8 + u + 1) * 3];
    assert.equal(out.data[(2 * 7 + u) * 3], Math.round((a + b) / 2));
  }
  assert.deepEqual(invertAffine(invertAffine([2, 1, 3, -1, 2, 5])).map((v) => Number(v.toFixed(12))), [
    2,
    1,
    3,
    -1,
    2,
    5,
  ]);
});

Deno.test("alignFace() maps the five landmarks onto the template and pads faces at the border", () => {
  const img = noise(64, 64);
  // A face whose points are exactly the 224 template scaled by 1/4 and shifted so it hangs off the top-left corner.
  const pts = templateFor(224).map(([x, y]): Point => [x / 4 - 20, y / 4 - 15]);
  const out = alignFace(img, pts, 224);
  assert.deepEqual([out.width, out.height, out.data.length], [224, 224, 224 * 224 * 3]);
  assert.deepEqual([...out.data.subarray(0, 3)], [0, 0, 0], "outside the image is black");
  // Output pixel (200, 200) maps back inside the image: it must equal a direct bilinear sample there.
  const m = similarityTransform(pts, templateFor(224));
  const [sx, sy] = apply(invertAffine(m), [200, 200]);
  assert.ok(sx > 0 && sy > 0 && sx < 63 && sy < 63);
  const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
  const at = (x: number, y: number) => img.data[(y * 64 + x) * 3];
  const expect = at(x0, y0) * (1 - fx) * (1 - fy) + at(x0 + 1, y0) * fx * (1 - fy) +
    at(x0, y0 + 1) * (1 - fx) * fy + at(x0 + 1, y0 + 1) * fx * fy;
  assert.equal(out.data[(200 * 224 + 200) * 3], Math.round(expect));
  assert.throws(() => alignFace(img, pts.slice(0, 4)), /expected 5 landmarks, got 4/);
});

Deno.test("landmarks5From68() takes eye centres, nose tip and mouth corners in image order", () => {
  const p68 = Array.from({ length: 68 }, (_, i): Point => [i, 100 + i]);
  assert.deepEqual(landmarks5From68(p68), [[38.5, 138.5], [44.5, 144.5], [30, 130], [48, 148], [54, 154]]);
});
