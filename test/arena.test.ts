import test from 'ava';
import { Arena } from '../src/runtime/wasm.js';
import { UserError } from '../src/util/errors.js';

test('kernel memory: a region past the 4 GB a WebAssembly thread addresses is refused in one line, before memory grows', (t) => {
  const arena = new Arena();
  const before = arena.kernels.memory.buffer.byteLength;
  const err = t.throws(() => arena.reserve(5 * 2 ** 30), { instanceOf: UserError });
  t.regex(err!.message, /^kernel memory: 5\.0 GB more would pass the 4 GB a WebAssembly thread can address/);
  t.is(arena.kernels.memory.buffer.byteLength, before, 'nothing grown');
  // offsets stay 16-byte aligned and count up (no 32-bit mask)
  const a = arena.reserve(3);
  const b = arena.reserve(1);
  t.is(b - a, 16);
});
