/**
 * IEEE 754 half precision to a JavaScript number, for the weight readers that meet float16 tensors
 * (safetensors `F16`, numpy `<f2` in pickles).
 */

/** Decodes one float16 bit pattern (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
