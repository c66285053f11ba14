/**
 * Shared pieces of the property tests: byte mutations of a valid input, a fixed seed, and a check that every run ends
 * in the parser's result or its own error (never another exception, a hang or a memory spike).
 */
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';

/** One seed for every property, so CI replays the same cases; FC_SEED overrides it to explore. */
export const SEED = Number(process.env.FC_SEED ?? 20_240_611);

type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'u32'; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  // a 32-bit field rewritten: sizes and counts in headers, often to the extremes
  fc.record({
    kind: fc.constant('u32' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 })),
  }),
);

function apply(base: Uint8Array, m: Mutation, near: number): Uint8Array {
  // most positions land in the first `near` bytes, where the headers are
  const at = base.length === 0 ? 0 : m.at % (m.at % 2 === 0 ? Math.min(near, base.length) : base.length);
  switch (m.kind) {
    case 'set':
      return withCopy(base, (c) => (c[at] = m.value));
    case 'flip':
      return withCopy(base, (c) => (c[at] ^= 1 << m.bit));
    case 'cut':
      return base.subarray(0, at);
    case 'insert':
      return Uint8Array.from([...base.subarray(0, at), ...m.bytes, ...base.subarray(at)]);
    case 'delete':
      return Uint8Array.from([...base.subarray(0, at), ...base.subarray(at + m.length)]);
    case 'u32':
      return withCopy(base, (c) => {
        if (at + 4 <= c.length) new DataView(c.buffer, c.byteOffset).setUint32(at, m.value, at % 3 === 0);
      });
  }
}

function withCopy(base: Uint8Array, change: (copy: Uint8Array) => void): Uint8Array {
  const copy = base.slice();
  change(copy);
  return copy;
}

/** `base` with 1 to 4 mutations, placed mostly within its first `near` bytes. */
export function mutated(base: Uint8Array, near = 64): fc.Arbitrary<Uint8Array> {
  return fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => ms.reduce((b, m) => apply(b, m, near), base));
}

export interface Bounds {
  runs: number;
  /** Most a run's result may hold in ArrayBuffers (bytes; default 64 MB): a header's claim is not an allocation. */
  maxBytes?: number;
}

/**
 * A property whose runs have not all settled by then has a run that hangs: the test fails (a run that never yields is
 * ended by AVA's own timeout instead).
 */
const HANG_MS = 150_000;

/**
 * Checks that `attempt` ends in a value or an error `expected` accepts, for `runs` generated inputs, each holding at
 * most `maxBytes` of arrays in its result (what a header claims is not allocated), with the seed fixed; a shrunk
 * counterexample is reported as usual. Every run must settle: a run that hangs fails the test at its timeout.
 */
export async function holds<T>(
  t: ExecutionContext,
  input: fc.Arbitrary<T>,
  attempt: (value: T) => unknown,
  expected: (err: unknown) => boolean,
  bounds: Bounds,
): Promise<void> {
  t.timeout(HANG_MS, 'a run of the property never settled');
  const maxBytes = bounds.maxBytes ?? 64 * 2 ** 20;
  let largest = 0;
  await fc.assert(
    fc.asyncProperty(input, async (value) => {
      const before = process.memoryUsage().arrayBuffers;
      let result: unknown;
      try {
        result = await attempt(value);
      } catch (err) {
        if (!expected(err)) throw err;
      }
      // measured while the result is still held
      const held = process.memoryUsage().arrayBuffers - before;
      largest = Math.max(largest, held);
      if (held > maxBytes) throw new Error(`one run holds ${Math.round(held / 2 ** 20)} MB of arrays`);
      return result === undefined || result !== null;
    }),
    { seed: SEED, numRuns: bounds.runs, endOnFailure: true, includeErrorInReport: true },
  );
  t.log(`${bounds.runs} runs, largest result ${Math.round(largest / 1024)} KB of arrays`);
  t.pass();
}
