import assert from "node:assert/strict";
import { hwioToOihw, samePads } from "../../../model/faceapi/layers.ts";

Deno.test("samePads() reproduces TensorFlow 'same' padding, extra pixel at the end", () => {
  assert.deepEqual(samePads(512, 3, 2), [0, 1, 256]); // SSD conv_0: asymmetric
  assert.deepEqual(samePads(112, 3, 2), [0, 1, 56]);
  assert.deepEqual(samePads(7, 3, 1), [1, 1, 7]);
  assert.deepEqual(samePads(2, 3, 2), [0, 1, 1]); // SSD prediction conv_7
  assert.deepEqual(samePads(3, 3, 2), [1, 1, 2]);
  assert.deepEqual(samePads(13, 2, 1), [0, 1, 13]); // tiny detector's last max pool
  assert.deepEqual(samePads(16, 1, 1), [0, 0, 16]);
});

Deno.test("hwioToOihw() moves TF filter [kh,kw,cin,cout] to ONNX [cout,cin,kh,kw]", () => {
  const [kh, kw, cin, cout] = [2, 3, 4, 5];
  const hwio = Float32Array.from({ length: kh * kw * cin * cout }, (_, i) => i);
  const oihw = hwioToOihw(hwio, kh, kw, cin, cout);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) {
          assert.equal(oihw[((o * cin + i) * kh + y) * kw + x], hwio[((y * kw + x) * cin + i) * cout + o]);
        }
      }
    }
  }
  // depthwise [kh,kw,C,1] -> [C,1,kh,kw]: channel-major
  const dw = hwioToOihw(Float32Array.from([1, 2, 3, 4]), 1, 2, 2, 1);
  assert.deepEqual([...dw], [1, 3, 2, 4]);
});
