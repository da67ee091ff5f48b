// Reduce group, part 1: sum/mean/max, argmax, softmax/logSoftmax, concat/stack (GPU vs CPU reference).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../../src/ops/index.js';
import { argmax as argmaxKernel } from '../../src/kernels/webgpu/argmax.js';
import { reduce as reduceKernel } from '../../src/kernels/webgpu/reduce.js';
import { fromHost, Tensor } from '../../src/tensor/tensor.js';
import type { DType } from '../../src/tensor/dtype.js';
import { assertTensorsClose, gpu, pair, randn } from '../helpers/gpu.js';

type View = (t: Tensor) => Tensor;
const VIEWS: [string, View][] = [
  ['contiguous', (t) => t],
  ['transposed', (t) => (t.rank >= 2 ? t.transpose(0, t.rank - 1) : t)],
  ['sliced', (t) => t.slice(-1, 1)],
];

test('sum/mean/max match the CPU reference: odd shapes, every axis, keepDims, views, f16', async () => {
  const dev = await gpu();
  const shapes = [[1], [3], [17, 1], [5, 33], [2, 257], [3, 1000], [2, 5121], [3, 1, 4, 5], [1, 7, 1]];
  let seed = 1;
  for (const shape of shapes) {
    for (const dtype of ['f32', 'f16'] as DType[]) {
      const [c0, g0] = pair(dev, shape, seed++, { dtype });
      for (const [vn, v] of VIEWS) {
        if (vn === 'sliced' && shape[shape.length - 1] < 2) continue;
        const c = v(c0), g = v(g0);
        for (let axis = -c.rank; axis < c.rank; axis++) {
          for (const keepDims of [false, true]) {
            for (const op of ['sum', 'mean', 'max'] as const) {
              const R = c.shape[axis < 0 ? axis + c.rank : axis];
              const tol = op === 'sum' ? 2e-6 * R + 1e-5 : 1e-5;
              await assertTensorsClose(ops[op](g, axis, keepDims), ops[op](c, axis, keepDims), tol, 1e-5, `${op} ${dtype} ${vn} [${c.shape}] axis ${axis} keep ${keepDims}`);
            }
          }
        }
      }
    }
  }
});

test('row and column reduction kernels agree with the reference on both layouts', async () => {
  const dev = await gpu();
  let seed = 50;
  for (const shape of [[7, 300], [300, 7], [40, 65], [1, 1000], [1000, 1], [3, 4, 129]]) {
    const [c, g] = pair(dev, shape, seed++);
    for (let axis = 0; axis < shape.length; axis++) {
      for (const mode of ['row', 'col'] as const) {
        for (const op of ['sum', 'mean', 'max'] as const) {
          await assertTensorsClose(reduceKernel(g, op, axis, false, mode), ops[op](c, axis), 1e-4, 1e-5, `${op} ${mode} [${shape}] axis ${axis}`);
        }
        await assertTensorsClose(argmaxKernel(g, axis, false, mode), ops.argmax(c, axis), 0, 0, `argmax ${mode} [${shape}] axis ${axis}`);
      }
    }
  }
});

test('max propagates NaN; sum of an empty axis is 0', async () => {
  const dev = await gpu();
  const v = [1, NaN, 3, -2, 5, 0];
  const [c, g] = pair(dev, [2, 3], 0, { values: v });
  await assertTensorsClose(ops.max(g, 1), ops.max(c, 1), 0, 0, 'max NaN');
  assert.equal(Array.from(await ops.max(g, 1).data()).map(Number.isNaN), [true, false]);
  const e = fromHost([], [3, 0], 'f32', dev);
  assert.equal(Array.from(await ops.sum(e, 1).data()), [0, 0, 0]);
  assert.throws(() => ops.max(e, 1), /empty/);
});

test('argmax: first index on ties, NaN wins, i32 output, odd shapes and views', async () => {
  const dev = await gpu();
  // Few distinct values so ties are everywhere.
  const shapes = [[1], [3], [17], [4, 33], [2, 257], [3, 1000], [1, 32001], [5, 3, 7]];
  let seed = 200;
  for (const shape of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = randn(n, seed++).map((x) => Math.round(x * 2));
    for (const dtype of ['f32', 'f16'] as DType[]) {
      const [c, g] = pair(dev, shape, 0, { values: vals, dtype });
      for (let axis = 0; axis < shape.length; axis++) {
        const out = ops.argmax(g, axis);
        assert.is(out.dtype, 'i32');
        await assertTensorsClose(out, ops.argmax(c, axis), 0, 0, `argmax [${shape}] axis ${axis} ${dtype}`);
        await assertTensorsClose(ops.argmax(g, axis, true), ops.argmax(c, axis, true), 0, 0, `argmax keepDims`);
      }
      if (shape.length >= 2) await assertTensorsClose(ops.argmax(g.transpose(0, 1), -1), ops.argmax(c.transpose(0, 1), -1), 0, 0, 'argmax transposed');
    }
  }
  const [c, g] = pair(dev, [2, 5], 0, { values: [1, 7, 7, 2, 7, 0, NaN, 3, NaN, 9] });
  assert.equal(Array.from(await ops.argmax(g).data()), [1, 1]);
  assert.equal(Array.from(await ops.argmax(c).data()), [1, 1]);
});

test('softmax/logSoftmax match the reference on odd shapes, any axis, views, f16', async () => {
  const dev = await gpu();
  const shapes = [[1], [3], [17, 1], [5, 33], [2, 257], [3, 1000], [2, 5121], [4, 3, 106], [1, 32001]];
  let seed = 300;
  for (const shape of shapes) {
    for (const dtype of ['f32', 'f16'] as DType[]) {
      const [c0, g0] = pair(dev, shape, seed++, { dtype, scale: 3 });
      for (const [vn, v] of VIEWS) {
        if (vn === 'sliced' && shape[shape.length - 1] < 2) continue;
        const c = v(c0), g = v(g0);
        for (const axis of [-1, 0]) {
          await assertTensorsClose(ops.softmax(g, axis), ops.softmax(c, axis), 1e-6, 1e-4, `softmax ${dtype} ${vn} [${c.shape}] ${axis}`);
          await assertTensorsClose(ops.logSoftmax(g, axis), ops.logSoftmax(c, axis), 2e-5, 1e-5, `logSoftmax ${dtype} ${vn} [${c.shape}] ${axis}`);
        }
      }
    }
  }
});

test('softmax is stable for large magnitudes and handles -inf', async () => {
  const dev = await gpu();
  const n = 1000;
  const vals = randn(2 * n, 9, 1).map((x, i) => x * 1e4 + (i < n ? 8e4 : -8e4));
  const [c, g] = pair(dev, [2, n], 0, { values: vals });
  const s = ops.softmax(g);
  const d = await s.data();
  assert.ok(d.every((x) => Number.isFinite(x)), 'finite');
  await assertTensorsClose(s, ops.softmax(c), 1e-6, 1e-4, 'softmax large');
  await assertTensorsClose(ops.logSoftmax(g), ops.logSoftmax(c), 1e-2, 1e-6, 'logSoftmax large');
  // A masked row: -inf entries get probability 0; a fully masked row is NaN (as torch).
  const ninf = -Infinity;
  const [cm, gm] = pair(dev, [2, 4], 0, { values: [0, ninf, 1, ninf, ninf, ninf, ninf, ninf] });
  const r = await ops.softmax(gm).data();
  const e = await ops.softmax(cm).data();
  assert.ok(Math.abs(r[0] - e[0]) < 1e-6 && r[1] === 0 && Math.abs(r[2] - e[2]) < 1e-6 && r[3] === 0, `masked row ${Array.from(r)}`);
  assert.ok(r.slice(4).every(Number.isNaN) && e.slice(4).every(Number.isNaN), 'fully masked row is NaN');
  // Exact sums: every row of the attention-sized shape sums to 1.
  const [, ga] = pair(dev, [106 * 4, 106], 3, { scale: 20 });
  const sums = await ops.sum(ops.softmax(ga), -1).data();
  assert.ok(sums.every((x) => Math.abs(x - 1) < 1e-5));
});

test('concat on every axis with views, mixed dtypes, size-0 parts; stack', async () => {
  const dev = await gpu();
  let seed = 400;
  const base = [3, 4, 5];
  for (let axis = 0; axis < 3; axis++) {
    const parts: [Tensor, Tensor][] = [];
    for (const [k, dtype] of [[1, 'f32'], [2, 'f16'], [3, 'f32'], [0, 'f32']] as [number, DType][]) {
      const shape = [...base];
      shape[axis] = k;
      parts.push(pair(dev, shape, seed++, { dtype }));
    }
    // A transposed view with the right shape.
    const tshape = [...base];
    tshape[axis] = 2;
    const [ct, gt] = pair(dev, [...tshape].reverse(), seed++);
    parts.push([ct.permute([2, 1, 0]), gt.permute([2, 1, 0])]);
    const g = ops.concat(parts.map((p) => p[1]), axis), c = ops.concat(parts.map((p) => p[0]), axis);
    assert.is(g.dtype, 'f32');
    await assertTensorsClose(g, c, 0, 0, `concat axis ${axis}`);
    await assertTensorsClose(ops.concat(parts.map((p) => p[1]), axis - 3), c, 0, 0, `concat axis ${axis - 3}`);
  }
  // Same dtype keeps it: f16 and i32.
  const [a16, b16] = [pair(dev, [2, 3], 1, { dtype: 'f16' }), pair(dev, [2, 5], 2, { dtype: 'f16' })];
  const h = ops.concat([a16[1], b16[1].slice(1, 1, 4)], 1);
  assert.is(h.dtype, 'f16');
  await assertTensorsClose(h, ops.concat([a16[0], b16[0].slice(1, 1, 4)], 1), 0, 0, 'concat f16');
  const ia = fromHost([1, 2, 3, 4], [2, 2], 'i32', dev), ib = fromHost([-7, 2 ** 30], [2, 1], 'i32', dev);
  const i = ops.concat([ia, ib], 1);
  assert.is(i.dtype, 'i32');
  assert.equal(Array.from(await i.data()), [1, 2, -7, 3, 4, 2 ** 30]);
  // stack
  const xs = [0, 1, 2].map((s) => pair(dev, [3, 2], 500 + s));
  for (const axis of [0, 1, 2, -1]) {
    const g = ops.stack(xs.map((p) => p[1]), axis), c = ops.stack(xs.map((p) => p[0]), axis);
    await assertTensorsClose(g, c, 0, 0, `stack ${axis}`);
  }
  assert.equal(ops.stack(xs.map((p) => p[1]), 1).shape, [3, 3, 2]);
  assert.throws(() => ops.concat([xs[0][1], pair(dev, [3, 3], 1)[1]], 0), /differ/);
});

test('reductions feed other ops lazily (no readback between kernels)', async () => {
  const dev = await gpu();
  const [c, g] = pair(dev, [6, 17], 77);
  const before = dev.stats.readbacks;
  const gy = ops.sub(g, ops.max(g, -1, true));
  assert.is(dev.stats.readbacks, before);
  await assertTensorsClose(gy, ops.sub(c, ops.max(c, -1, true)), 1e-6, 1e-6, 'x - max');
});

test('every row-kernel variant (workgroup 32..256, subgroup and tree reductions) matches the reference', async () => {
  const dev = await gpu();
  const [cx, gx] = pair(dev, [5, 1000], 600, { scale: 3 });
  const [cs, gs] = pair(dev, [3, 33], 601, { dtype: 'f16' });
  const [cw, gw] = pair(dev, [1000], 602);
  const tv = [3, -100, 999, 0, 512];
  const tc = fromHost(tv, [5], 'i32', 'cpu'), tg = fromHost(tv, [5], 'i32', dev);
  const nanRow = [1, 2, NaN, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34];
  const [cn, gn] = pair(dev, [1, 34], 0, { values: nanRow });
  try {
    for (const wg of [32, 64, 128, 256]) {
      for (const subgroups of [true, false]) {
        dev.tuning.rows = { wg, subgroups };
        const what = `wg ${wg} ${subgroups ? 'subgroups' : 'tree'}`;
        for (const [c, g] of [[cx, gx], [cs, gs], [cx.transpose(), gx.transpose()]]) {
          await assertTensorsClose(reduceKernel(g, 'sum', g.rank - 1, false, 'row'), ops.sum(c, -1), 1e-3, 1e-5, `sum ${what}`);
          await assertTensorsClose(reduceKernel(g, 'max', g.rank - 1, false, 'row'), ops.max(c, -1), 0, 0, `max ${what}`);
          await assertTensorsClose(argmaxKernel(g, g.rank - 1, false, 'row'), ops.argmax(c, -1), 0, 0, `argmax ${what}`);
          await assertTensorsClose(ops.softmax(g), ops.softmax(c), 1e-6, 1e-4, `softmax ${what}`);
          await assertTensorsClose(ops.logSoftmax(g), ops.logSoftmax(c), 2e-5, 1e-5, `logSoftmax ${what}`);
          await assertTensorsClose(ops.layerNorm(g, null, null), ops.layerNorm(c, null, null), 5e-5, 1e-5, `layerNorm ${what}`);
        }
        await assertTensorsClose(ops.rmsNorm(gx, gw), ops.rmsNorm(cx, cw), 2e-5, 1e-5, `rmsNorm ${what}`);
        await assertTensorsClose(ops.crossEntropy(gx, tg), ops.crossEntropy(cx, tc), 1e-5, 1e-5, `crossEntropy ${what}`);
        assert.ok(Number.isNaN((await reduceKernel(gn, 'max', 1, false, 'row').data())[0]), `max NaN ${what}`);
        assert.ok(Number.isNaN((await ops.softmax(gn).data())[0]), `softmax NaN ${what}`);
      }
    }
  } finally {
    delete dev.tuning.rows;
  }
});

test.run();
