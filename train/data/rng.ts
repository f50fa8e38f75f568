/**
 * A small seeded PRNG (sfc32) whose whole state is four 32-bit integers, so a checkpoint can store it as JSON and
 * a resumed run draws exactly the numbers the interrupted one would have. Math.random cannot be seeded or saved.
 */

/** The serialisable state of an {@link Rng}: four uint32 words. */
export interface RngState {
  s: [number, number, number, number];
}

/** A seeded random source. `next()` is uniform in [0, 1); `int(n)` is uniform in 0..n-1. */
export interface Rng {
  next(): number;
  int(n: number): number;
  /** A copy of the current state; `createRng({ state })` continues from it. */
  state(): RngState;
}

/**
 * Creates a generator from an integer seed, or from a saved state. Seeds are expanded with splitmix32 so that
 * nearby seeds (0, 1, 2) give unrelated streams; the first 12 outputs are discarded as sfc32's authors advise.
 */
export function createRng(seedOrState: number | RngState = 0): Rng {
  let a: number, b: number, c: number, d: number;
  if (typeof seedOrState === "number") {
    if (!Number.isFinite(seedOrState)) throw new Error(`Cannot seed RNG: seed is ${seedOrState}`);
    let x = seedOrState >>> 0;
    const split = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    [a, b, c, d] = [split(), split(), split(), split()];
  } else {
    const s = seedOrState.s;
    if (!Array.isArray(s) || s.length !== 4 || s.some((v) => !Number.isInteger(v))) {
      throw new Error(
        `Cannot restore RNG: state is ${JSON.stringify(seedOrState)}, expected { s: [4 ints] }`,
      );
    }
    [a, b, c, d] = s.map((v) => v >>> 0);
  }
  function nextU32(): number {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  }
  if (typeof seedOrState === "number") { for (let i = 0; i < 12; i++) nextU32(); }
  return {
    next: () => nextU32() / 4294967296,
    int(n: number): number {
      if (!(n >= 1)) throw new Error(`Cannot draw an integer: range size is ${n}`);
      return Math.floor((nextU32() / 4294967296) * n);
    },
    state: () => ({ s: [a >>> 0, b >>> 0, c >>> 0, d >>> 0] }),
  };
}

/** Shuffles `items` in place (Fisher-Yates) with `rng` and returns it. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}
