/**
 * Seeded pseudo-random numbers (sfc32 seeded through splitmix32). Library code takes randomness only from here,
 * so the same seed gives the same results on every run and with any number of workers. One copy lives elsewhere:
 * the random forest's tree growing in WebAssembly (src/wasm/forest.ts) replicates this generator number for number,
 * and test/random-forest.test.ts holds both to the same trees.
 */
export interface Rng {
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** In-place Fisher–Yates shuffle; returns the array. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A generator from a 32-bit seed. */
export function createRng(seed: number): Rng {
  const init = splitmix32(seed);
  let a = init(),
    b = init(),
    c = init(),
    d = init();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  const float = (): number => next() / 4294967296;
  const int = (n: number): number => Math.floor(float() * n);
  return {
    float,
    int,
    shuffle(arr) {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = int(i + 1);
        const tmp = arr[i];
        arr[i] = arr[j];
        arr[j] = tmp;
      }
      return arr;
    },
  };
}

/**
 * A child seed from a parent seed and an index (tree number, fold number, …): independent streams that do not depend
 * on the order in which work is scheduled.
 */
export function deriveSeed(seed: number, ...path: number[]): number {
  let s = seed >>> 0;
  for (const p of path) s = splitmix32((s ^ Math.imul(p + 1, 0x27d4eb2d)) >>> 0)();
  return s;
}
