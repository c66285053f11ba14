import test from 'ava';
import { atan2Rounded } from '../src/linalg/atan2.js';
import { createRng } from '../src/util/rng.js';

/** y, x and atan2(y, x) rounded to nearest, from mpmath at 300 bits. */
const CORRECTLY_ROUNDED: Array<[number, number, number]> = [
  // √90 / √30 = √3: a gradient of square-rooted pixels at 60° to the last bit (Math.atan2 gives …976)
  [9.486832980505138, 5.477225575051661, 1.0471975511965979],
  // glibc 2.36 gives …905 and …496 here
  [-0.32915493062535894, 0.45054451592557304, -0.6309504029836904],
  [0.1468804461047493, 1.2156154912840376, 0.12024513859068497],
  [-0.06262243096022832, -0.02593906021249938, -1.963495408493621],
  [3e200, 1e200, 1.2490457723982544],
];

test('atan2Rounded is correctly rounded where Math.atan2 and the C library are not', (t) => {
  t.is(9.486832980505138, Math.sqrt(90));
  t.is(5.477225575051661, Math.sqrt(30));
  for (const [y, x, expected] of CORRECTLY_ROUNDED) t.is(atan2Rounded(y, x), expected, `atan2(${y}, ${x})`);
});

test('atan2Rounded keeps IEEE results on the axes and stays within an ulp of Math.atan2 elsewhere', (t) => {
  t.is(atan2Rounded(0, 1), 0);
  t.is(atan2Rounded(0, -1), Math.PI);
  t.is(atan2Rounded(-1, 0), -Math.PI / 2);
  t.is(atan2Rounded(3, 3), Math.PI / 4);
  t.is(atan2Rounded(-3, -3), (-3 * Math.PI) / 4);
  t.true(Number.isNaN(atan2Rounded(Number.NaN, 1)));
  const rng = createRng(4);
  const far: string[] = [];
  for (let i = 0; i < 20000; i++) {
    const y = (rng.float() - 0.5) * 10;
    const x = (rng.float() - 0.5) * 10;
    const a = atan2Rounded(y, x);
    const b = Math.atan2(y, x);
    if (!(Math.abs(a - b) <= 4.5e-16 * Math.max(1, Math.abs(b)))) far.push(`atan2(${y}, ${x}): ${a} vs ${b}`);
  }
  t.deepEqual(far, []);
});
