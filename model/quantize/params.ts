/**
 * Quantization parameters from ranges: per-channel symmetric int8 for weights (zero point 0, scale = max|w|/127
 * per output channel) and per-tensor asymmetric uint8 for activations (the range widened to contain 0, so that
 * zero padding and ReLU's zero are exact).
 */

/** An observed activation range. */
export interface Range {
  min: number;
  max: number;
}

/** Per-tensor uint8 parameters of an activation. */
export interface ActivationParams {
  scale: number;
  zeroPoint: number;
}

/** uint8 scale and zero point for `range`; a range of width 0 gets scale 1 so the graph stays valid. */
export function activationParams({ min, max }: Range): ActivationParams {
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/** A weight quantized per channel: int8 values in the original layout and one scale per channel. */
export interface QuantizedWeight {
  values: Int8Array;
  scales: Float32Array;
}

/**
 * Symmetric int8 of `w` (shape `dims`) per slice along `axis`: q = round(w / s_c) clamped to [-127, 127],
 * s_c = max|w_c| / 127 (1 for an all-zero channel). -128 is never used, so the grid is symmetric around 0.
 */
export function quantizeWeight(w: Float32Array, dims: readonly number[], axis: number): QuantizedWeight {
  const channels = dims[axis];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const maxAbs = new Float32Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const a = Math.abs(w[i]);
    if (a > maxAbs[c]) maxAbs[c] = a;
  }
  const scales = maxAbs.map((m) => m > 0 ? m / 127 : 1);
  const values = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const c = Math.floor(i / inner) % channels;
    values[i] = Math.max(-127, Math.min(127, Math.round(w[i] / scales[c])));
  }
  return { values, scales };
}
