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

Deno.test("warpAffine() stepping along a row gives the per-pixel bilinear sample of the mapped centre", () => {
  // The warp adds the inverse map's column step instead of recomputing each source point; this holds it to the
  // plain formula (floor, four weights, Math.round) on a rotated, scaled, shifted warp of noise.
  const img = noise(97, 83, 7),
    m = similarityTransform(
      [[20.3, 30.1], [60.7, 28.4], [41.2, 50.9], [25.5, 66.6], [58.8, 65.2]],
      templateFor(64),
    );
  const out = warpAffine(img, m, 64);
  const [a, b, tx, c, d, ty] = invertAffine(m);
  let differ = 0;
  for (let v = 0; v < 64; v++) {
    for (let u = 0; u < 64; u++) {
      const x = a * u + b * v + tx, y = c * u + d * v + ty, x0 = Math.floor(x), y0 = Math.floor(y);
      if (x0 < 0 || y0 < 0 || x0 + 1 >= img.width || y0 + 1 >= img.height) continue;
      const fx = x - x0,
        fy = y - y0,
        at = (i: number, j: number, k: number) => img.data[(j * img.width + i) * 3 + k];
      for (let k = 0; k < 3; k++) {
        const want = Math.round(
          (1 - fx) * (1 - fy) * at(x0, y0, k) + fx * (1 - fy) * at(x0 + 1, y0, k) +
            (1 - fx) * fy * at(x0, y0 + 1, k) + fx * fy * at(x0 + 1, y0 + 1, k),
        );
        const got = out.data[(v * 64 + u) * 3 + k];
        assert.ok(Math.abs(got - want) <= 1, `pixel ${u},${v} channel ${k}: ${got} vs ${want}`);
        if (got !== want) differ++;
      }
    }
  }
  assert.ok(differ <= 3, `${differ} values differ by one grey level (rounding at an exact .5)`);
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
