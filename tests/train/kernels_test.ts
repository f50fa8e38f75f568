import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { conv2dFilterGrad, conv2dInputGrad, registerFastConvGradients } from "../../train/kernels.ts";
import { initBackend } from "../../train/backend.ts";

tf.env().set("PROD", true);

type Pad = "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];
const p = (n: number): Pad => [[0, 0], [n, n], [n, n], [0, 0]];

/** Every convolution shape ResNet-50 + SCAN + ECA uses, on small maps (odd and even sizes). */
type Shape4 = [number, number, number, number];
const CASES: { x: Shape4; w: Shape4; s: number; pad: Pad }[] = [
  { x: [2, 8, 8, 3], w: [1, 1, 3, 4], s: 1, pad: "valid" },
  { x: [2, 8, 8, 3], w: [1, 1, 3, 4], s: 2, pad: "valid" },
  { x: [2, 9, 9, 3], w: [1, 1, 3, 4], s: 2, pad: "valid" },
  { x: [2, 8, 8, 3], w: [3, 3, 3, 4], s: 1, pad: p(1) },
  { x: [2, 8, 8, 3], w: [3, 3, 3, 4], s: 2, pad: p(1) },
  { x: [2, 9, 9, 3], w: [3, 3, 3, 4], s: 2, pad: p(1) },
  { x: [2, 9, 9, 3], w: [3, 3, 3, 4], s: 1, pad: "same" },
  { x: [1, 14, 14, 3], w: [7, 7, 3, 4], s: 2, pad: p(3) },
  { x: [1, 15, 15, 3], w: [7, 7, 3, 4], s: 2, pad: "same" },
  { x: [2, 1, 12, 1], w: [1, 5, 1, 1], s: 1, pad: [[0, 0], [0, 0], [2, 2], [0, 0]] },
];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function padInfo(x: number[], w: number[], s: number, pad: Pad) {
  return tf.backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    w as [number, number, number, number],
    s,
    1,
    pad,
  );
}

/** Naive float64 NHWC conv, the finite-difference oracle (independent of tfjs). */
function conv64(
  x: Float64Array,
  xs: number[],
  w: Float64Array,
  ws: number[],
  s: number,
  pad: Pad,
): Float64Array {
  const info = padInfo(xs, ws, s, pad);
  const [n, h, wd, ci] = xs, [kh, kw, , co] = ws;
  const { outHeight: oh, outWidth: ow } = info;
  const y = new Float64Array(n * oh * ow * co);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let o = 0; o < co; o++) {
          let acc = 0;
          for (let u = 0; u < kh; u++) {
            const r = i * s - info.padInfo.top + u;
            if (r < 0 || r >= h) continue;
            for (let v = 0; v < kw; v++) {
              const c = j * s - info.padInfo.left + v;
              if (c < 0 || c >= wd) continue;
              for (let k = 0; k < ci; k++) {
                acc += x[((b * h + r) * wd + c) * ci + k] * w[((u * kw + v) * ci + k) * co + o];
              }
            }
          }
          y[((b * oh + i) * ow + j) * co + o] = acc;
        }
      }
    }
  }
  return y;
}

Deno.test("conv2dFilterGrad/conv2dInputGrad match tfjs's stock cpu kernels on every ResNet conv shape", async () => {
  await tf.setBackend("cpu");
  for (const c of CASES) {
    tf.tidy(() => {
      const x = tf.randomNormal(c.x, 0, 1, "float32", 1) as tf.Tensor4D;
      const w = tf.randomNormal(c.w, 0, 1, "float32", 2) as tf.Tensor4D;
      const dy = tf.randomNormal(tf.conv2d(x, w, c.s, c.pad).shape, 0, 1, "float32", 3) as tf.Tensor4D;
      const attrs = { strides: c.s, pad: c.pad, dataFormat: "NHWC" };
      const refW = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
        ...attrs,
        filterShape: c.w,
      }) as tf.Tensor;
      const refX = tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, {
        ...attrs,
        inputShape: c.x,
      }) as tf.Tensor;
      const myW = conv2dFilterGrad(x, dy, c.w as [number, number, number, number], {
        strides: c.s,
        pad: c.pad,
      });
      const myX = conv2dInputGrad(dy, w, c.x as [number, number, number, number], {
        strides: c.s,
        pad: c.pad,
      });
      assert.deepEqual(myW.shape, refW.shape);
      assert.deepEqual(myX.shape, refX.shape);
      assert(maxDiff(myW.dataSync(), refW.dataSync()) < 1e-4, `dW ${JSON.stringify(c)}`);
      assert(maxDiff(myX.dataSync(), refX.dataSync()) < 1e-4, `dX ${JSON.stringify(c)}`);
    });
  }
});

Deno.test("registered kernels give tf.grads that match float64 central finite differences", async () => {
  const info = await initBackend();
  assert(info.name === "tensorflow" || info.customKernels.includes("Conv2DBackpropFilter"));
  for (const c of CASES) {
    const xs = tf.randomNormal(c.x, 0, 1, "float32", 4), ws = tf.randomNormal(c.w, 0, 1, "float32", 5);
    const x64 = Float64Array.from(xs.dataSync()), w64 = Float64Array.from(ws.dataSync());
    const r = tf.randomNormal(
      tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, c.s, c.pad).shape,
      0,
      1,
      "float32",
      6,
    );
    const r64 = Float64Array.from(r.dataSync());
    // L = sum(r * conv(x, w)^2) / 2: nonlinear, so the check is not trivially exact.
    const loss64 = (xv: Float64Array, wv: Float64Array) => {
      const y = conv64(xv, c.x, wv, c.w, c.s, c.pad);
      let l = 0;
      for (let i = 0; i < y.length; i++) l += (r64[i] * y[i] * y[i]) / 2;
      return l;
    };
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.div(tf.sum(tf.mul(r, tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad)))), 2)
    )([xs, ws]);
    const eps = 1e-4;
    for (const [arr, grad] of [[w64, gw.dataSync()], [x64, gx.dataSync()]] as const) {
      for (const i of [0, Math.floor(arr.length / 3), arr.length - 1]) {
        const keep = arr[i];
        arr[i] = keep + eps;
        const up = loss64(x64, w64);
        arr[i] = keep - eps;
        const down = loss64(x64, w64);
        arr[i] = keep;
        const numeric = (up - down) / (2 * eps);
        assert(
          Math.abs(numeric - grad[i]) <= 1e-3 * Math.max(1, Math.abs(numeric)),
          `${JSON.stringify(c)} index ${i}: analytic ${grad[i]} vs numeric ${numeric}`,
        );
      }
    }
    tf.dispose([xs, ws, r, gx, gw]);
  }
});

Deno.test("registerFastConvGradients() replaces the kernels idempotently", async () => {
  await initBackend();
  const backend = tf.getBackend();
  if (backend === "tensorflow") return; // native kernels are never replaced
  assert.deepEqual(registerFastConvGradients(backend), ["Conv2DBackpropFilter", "Conv2DBackpropInput"]);
  assert.deepEqual(registerFastConvGradients(backend), ["Conv2DBackpropFilter", "Conv2DBackpropInput"]);
  assert(tf.getKernel("Conv2DBackpropFilter", backend));
});
