import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { metaLayout } from '../../src/kernels/webgpu/meta-layout.js';

const L = metaLayout(['n', ['x', ['off', 'sb', 'st']], ['lens', 3], 'scale']);

test('fields get consecutive words; WGSL reads them by name', () => {
  assert.is(L.words, 8);
  assert.equal([L.at('n'), L.at('x'), L.at('x.st'), L.at('lens'), L.at('lens', 2), L.at('scale')], [0, 1, 3, 4, 6, 7]);
  assert.is(L.p('x.sb'), 'prm[2]');
  assert.is(L.p('lens', 1, true), 'prm[5u]');
  assert.is(L.describe(), '0 n, 1 x (off, sb, st), 4 lens [3], 7 scale');
  assert.throws(() => L.p('y'), /no field 'y'/);
});

test('the writer places every field and refuses missing, unknown or mis-sized ones', () => {
  assert.equal(L.write({ n: 5, x: [10, 11, 12], lens: [1, 2, 3], scale: 9 }, [100, 101]), [5, 10, 11, 12, 1, 2, 3, 9, 100, 101]);
  // @ts-expect-error a missing field is a type error too
  assert.throws(() => L.write({ n: 5, x: [10, 11, 12], lens: [1, 2, 3] }), /field 'scale' not set/);
  assert.throws(() => L.write({ n: 5, x: [10, 11], lens: [1, 2, 3], scale: 1 }), /field 'x' has 3 words, got 2/);
  assert.throws(() => L.write({ n: 5, x: [10, 11, 12], lens: 4, scale: 1 }), /'lens' has 3 words, got one number/);
  // @ts-expect-error an unknown field is a type error too
  assert.throws(() => L.write({ n: 5, x: [10, 11, 12], lens: [1, 2, 3], scale: 1, extra: 2 }), /unknown field 'extra'/);
  assert.throws(() => metaLayout(['a', 'a']), /declared twice/);
});

test.run();
