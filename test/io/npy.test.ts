import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeNpy, parseNpy, NpyError } from '../../src/io/npy.js';

test('npy round trip for every dtype we write', () => {
  const cases = [new Float32Array([1.5, -2, 3]), new Float64Array([Math.PI, 2]), new Int32Array([-7, 8, 9, 10]), new BigInt64Array([1n, -2n]), new Uint8Array([0, 255])];
  for (const data of cases) {
    const shape = data.length === 4 ? [2, 2] : [data.length];
    const a = parseNpy(encodeNpy(data, shape));
    assert.equal(a.shape, shape);
    assert.equal(Array.from(a.data as ArrayLike<number | bigint>), Array.from(data as ArrayLike<number | bigint>));
  }
  const scalar = parseNpy(encodeNpy(new Float32Array([4]), []));
  assert.equal(scalar.shape, []);
});

test('npy errors: truncated, bad magic, short v2 header, data too short', () => {
  const good = encodeNpy(new Float32Array([1, 2, 3]), [3]);
  const bad = [good.slice(0, 5), Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0]), good.slice(0, good.length - 2)];
  for (const b of bad) assert.throws(() => parseNpy(b, 'x.npy'), (e: unknown) => e instanceof NpyError && /x\.npy/.test((e as Error).message));
});

test('npy from a pooled Node Buffer view reads its own bytes', () => {
  const enc = encodeNpy(new Float32Array([1, 2, 3]), [3]);
  const pool = Buffer.alloc(enc.length + 64, 7);
  pool.set(enc, 32);
  const view = pool.subarray(32, 32 + enc.length);
  assert.equal(Array.from(parseNpy(view).data as Float32Array), [1, 2, 3]);
});

test.run();
