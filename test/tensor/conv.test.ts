import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../../src/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertTensorsClose, gpu, pair } from '../helpers/gpu.js';

type C1 = NonNullable<Parameters<typeof ops.conv1d>[3]>;

async function c1(shape: { B: number; Cin: number; T: number; Cout: number; K: number }, o: C1 & { bias?: boolean; dtype?: 'f32' | 'f16'; transposed?: boolean }, what: string, tol = 1e-4) {
  const dev = await gpu();
  const { B, Cin, T, Cout, K } = shape;
  const g = o.groups ?? 1;
  const [xc0, xg0] = pair(dev, o.transposed ? [B, T, Cin] : [B, Cin, T], 1, { dtype: o.dtype });
  const tr = (t: Tensor) => (o.transposed ? t.transpose(1, 2) : t);
  const [wc, wg] = pair(dev, [Cout, Cin / g, K], 2, { dtype: o.dtype, scale: 1 / Math.sqrt((Cin / g) * K) });
  const [bc, bg] = pair(dev, [Cout], 3);
  const opts: C1 = { stride: o.stride, padding: o.padding, groups: o.groups, activation: o.activation };
  const yg = ops.conv1d(tr(xg0), wg, o.bias ? bg : undefined, opts);
  const yc = ops.conv1d(tr(xc0), wc, o.bias ? bc : undefined, opts);
  await assertTensorsClose(yg, yc, tol, tol, `${what} ${JSON.stringify(shape)} ${JSON.stringify(o)}`);
}

test('conv1d: odd sizes, stride 1 and 2, padding, bias, fused GELU, strided input, f16 storage', async () => {
  const s = { B: 2, Cin: 5, T: 37, Cout: 11, K: 3 };
  await c1(s, { padding: 1 }, 'plain');
  await c1(s, { padding: 1, stride: 2, bias: true, activation: 'gelu' }, 'stride 2 gelu');
  await c1({ ...s, T: 8 }, { padding: 0, stride: 3, bias: true }, 'stride 3 no padding');
  await c1(s, { padding: 2, bias: true, transposed: true }, 'transposed input');
  await c1(s, { padding: 1, bias: true, activation: 'gelu', dtype: 'f16' }, 'f16', 2e-3);
  await c1({ B: 1, Cin: 80, T: 61, Cout: 24, K: 3 }, { padding: 1, bias: true, activation: 'gelu' }, 'Whisper conv1-like');
  await c1({ B: 1, Cin: 24, T: 61, Cout: 24, K: 3 }, { padding: 1, stride: 2, bias: true, activation: 'gelu' }, 'Whisper conv2-like');
});

test('grouped conv1d: BEATs positional-conv shape scaled down (long kernel, even K, padding K/2), channel blocks per group', async () => {
  await c1({ B: 1, Cin: 32, T: 50, Cout: 32, K: 128 }, { groups: 2, padding: 64, bias: true, activation: 'gelu' }, 'K=128');
  await c1({ B: 2, Cin: 96, T: 21, Cout: 96, K: 16 }, { groups: 2, padding: 8, bias: true }, '48 per group');
  await c1({ B: 1, Cin: 12, T: 19, Cout: 18, K: 5 }, { groups: 3, padding: 2, stride: 2 }, 'small groups');
});

test('direct (non-subgroup) layouts', async () => {
  const dev = await gpu();
  dev.tuning.conv1d = { direct: true, co: 4, tpl: 3, wg: 16 };
  try {
    await c1({ B: 2, Cin: 5, T: 37, Cout: 11, K: 3 }, { padding: 1, stride: 2, bias: true, activation: 'gelu' }, 'direct');
    await c1({ B: 1, Cin: 8, T: 23, Cout: 8, K: 7 }, { groups: 2, padding: 3, bias: true }, 'direct grouped');
  } finally {
    delete dev.tuning.conv1d;
  }
  dev.tuning.conv2d = { sg: 0, co: 4, tpl: 3, wg: 16 };
  try {
    const [xc, xg] = pair(dev, [2, 3, 11, 13], 4);
    const [wc, wg] = pair(dev, [5, 3, 3, 2], 5);
    const [bc, bg] = pair(dev, [5], 6);
    await assertTensorsClose(ops.conv2d(xg, wg, bg, { stride: [2, 1], padding: [1, 0] }), ops.conv2d(xc, wc, bc, { stride: [2, 1], padding: [1, 0] }), 1e-4, 1e-4, 'conv2d direct');
  } finally {
    delete dev.tuning.conv2d;
  }
});

test('conv2d: odd sizes with stride/padding pairs and bias; BEATs patch embedding (16x16, stride 16, no bias)', async () => {
  const dev = await gpu();
  const [xc, xg] = pair(dev, [2, 3, 11, 13], 4);
  const [wc, wg] = pair(dev, [5, 3, 3, 2], 5);
  const [bc, bg] = pair(dev, [5], 6);
  await assertTensorsClose(ops.conv2d(xg, wg, bg, { stride: [2, 1], padding: [1, 0] }), ops.conv2d(xc, wc, bc, { stride: [2, 1], padding: [1, 0] }), 1e-4, 1e-4, 'odd');
  await assertTensorsClose(ops.conv2d(xg.transpose(2, 3), wg, undefined, { stride: 2, padding: 1 }), ops.conv2d(xc.transpose(2, 3), wc, undefined, { stride: 2, padding: 1 }), 1e-4, 1e-4, 'strided view');
  const [pc, pg] = pair(dev, [1, 1, 98, 128], 7);
  const [kc, kg] = pair(dev, [24, 1, 16, 16], 8, { scale: 1 / 16 });
  const yg = ops.conv2d(pg, kg, undefined, { stride: 16 });
  assert.equal(yg.shape, [1, 24, 6, 8]);
  await assertTensorsClose(yg, ops.conv2d(pc, kc, undefined, { stride: 16 }), 1e-4, 1e-4, 'patch embed');
});

test('conv shape validation', async () => {
  const dev = await gpu();
  const [, x] = pair(dev, [1, 4, 10], 1);
  const [, w] = pair(dev, [6, 3, 3], 2);
  assert.throws(() => ops.conv1d(x, w), /input channels/);
  assert.throws(() => ops.conv1d(x, w, undefined, { groups: 3 }), /groups/);
  const [, x2] = pair(dev, [1, 2, 4, 4], 3);
  const [, w2] = pair(dev, [3, 2, 5, 5], 4);
  assert.throws(() => ops.conv2d(x2, w2), /smaller/);
});

test.run();
