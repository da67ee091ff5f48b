// Reduce group, part 3: gather (small tables, and one larger than maxStorageBufferBindingSize) and row
// kernels over inputs larger than one binding (dispatched in chunks of rows).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../../src/ops/index.js';
import { f16BitsToF32 } from '../../src/index.js';
import { fromF16, fromHost } from '../../src/index.js';
import type { DType } from '../../src/index.js';
import { assertClose, assertTensorsClose, gpu, pair } from '../helpers/gpu.js';

test('gather matches the reference: f32/f16 tables, strided tables, ids of any shape', async () => {
  const dev = await gpu();
  let seed = 1;
  for (const [V, D] of [[1, 1], [5, 3], [17, 33], [1000, 64], [3, 1280]]) {
    for (const dtype of ['f32', 'f16'] as DType[]) {
      const [c, g] = pair(dev, [V, D], seed++, { dtype });
      const [cT, gT] = pair(dev, [D, V], seed++, { dtype });
      for (const shape of [[], [1], [7], [2, 3], [2, 1, 4]]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const ids = Int32Array.from({ length: n }, (_, i) => (i * 7 + 3) % V);
        const ic = fromHost(ids, shape, 'i32', 'cpu'), ig = fromHost(ids, shape, 'i32', dev);
        const y = ops.gather(g, ig);
        assert.equal(y.shape, [...shape, D]);
        assert.is(y.dtype, 'f32');
        await assertTensorsClose(y, ops.gather(c, ic), 0, 0, `gather ${dtype} [${V},${D}] ids [${shape}]`);
        await assertTensorsClose(ops.gather(g, ic), ops.gather(c, ic), 0, 0, 'gather with CPU ids');
        await assertTensorsClose(ops.gather(gT.transpose(), ig), ops.gather(cT.transpose(), ic), 0, 0, 'gather strided table');
      }
    }
  }
  // Strided ids (a column of a [n, 2] tensor).
  const [c, g] = pair(dev, [9, 4], 99);
  const ids = fromHost([1, 0, 8, 0, 3, 0], [3, 2], 'i32', dev).transpose().slice(0, 0, 1);
  assert.ok(!ids.isContiguous);
  await assertTensorsClose(ops.gather(g, ids), ops.gather(c, fromHost([1, 8, 3], [1, 3], 'i32', 'cpu')), 0, 0, 'strided ids');
  // Out of range: CPU ids throw; GPU ids give zero rows.
  assert.throws(() => ops.gather(g, fromHost([0, 9], [2], 'i32', 'cpu')), /out of range/);
  assert.throws(() => ops.gather(c, fromHost([-1], [1], 'i32', 'cpu')), /out of range/);
  const z = await ops.gather(g, fromHost([-1, 2, 9], [3], 'i32', dev)).data();
  const row2 = await g.slice(0, 2, 3).data();
  assert.equal(Array.from(z), [0, 0, 0, 0, ...row2, 0, 0, 0, 0]);
});

test('gather from an f16 table larger than one storage binding (sampled rows)', async () => {
  const dev = await gpu();
  const V = 17000, D = 4100; // 139 MB > lavapipe's 128 MiB binding limit
  assert.ok(V * D * 2 > dev.limits.maxStorageBufferBindingSize, 'the table must exceed one binding');
  const bitsOf = (r: number, c: number) => (r * 131 + c * 7) % 30000; // finite f16 values
  const bits = new Uint16Array(V * D);
  for (let r = 0, i = 0; r < V; r++) for (let c = 0; c < D; c++) bits[i++] = bitsOf(r, c);
  const table = fromF16(bits, [V, D], dev);
  const boundary = Math.floor(dev.limits.maxStorageBufferBindingSize / (2 * D));
  const rows = [0, 1, 12345, boundary - 1, boundary, boundary + 1, boundary + 300, 16998, V - 1, 7];
  const d0 = dev.stats.dispatches;
  const yt = ops.gather(table, fromHost(rows, [2, rows.length / 2], 'i32', dev));
  assert.ok(dev.stats.dispatches - d0 >= 2, 'one dispatch per table chunk');
  const y = await yt.data();
  const want = new Float32Array(rows.length * D);
  rows.forEach((r, k) => {
    for (let c = 0; c < D; c++) want[k * D + c] = f16BitsToF32(bitsOf(r, c));
  });
  assertClose(y, want, 0, 0, 'big gather');
  // GPU out-of-range ids are zero rows even with several table chunks.
  const z = await ops.gather(table, fromHost([V, -5, V - 1], [3], 'i32', dev)).data();
  assert.ok(z.subarray(0, 2 * D).every((v) => v === 0));
  assertClose(z.subarray(2 * D), want.subarray(8 * D, 9 * D), 0, 0, 'last row');
  table.dispose();
});

test('row kernels over an input larger than one binding run in row chunks', async () => {
  const dev = await gpu();
  const N = 1050, V = 32001; // f32 [1050, 32001] = 134.4 MB > 128 MiB
  assert.ok(N * V * 4 > dev.limits.maxStorageBufferBindingSize);
  const v = new Float32Array(N * V);
  for (let r = 0; r < N; r++) for (let k = 0; k < V; k++) v[r * V + k] = Math.sin(r * 0.37 + k * 0.011) * 3 + ((r * 7 + k) % 13) * 0.1;
  const g = fromHost(v, [N, V], 'f32', dev), c = fromHost(v, [N, V], 'f32', 'cpu');
  const targets = Int32Array.from({ length: N }, (_, r) => (r % 5 === 0 ? -100 : (r * 7919) % V));
  const tg = fromHost(targets, [N], 'i32', dev);
  const rows = [0, 1, 500, 1047, 1048, 1049];
  const sampled = (t: Float32Array | Int32Array, w: number) => rows.flatMap((r) => Array.from(t.subarray(r * w, (r + 1) * w)));
  const crow = (r: number) => c.slice(0, r, r + 1);
  const cat = async (f: (x: typeof c) => typeof c) => rows.flatMap((r) => Array.from(f(crow(r)).dataSync()));
  const d0 = dev.stats.dispatches;
  const sumG = ops.sum(g, -1);
  assert.ok(dev.stats.dispatches - d0 >= 2, 'chunked dispatch');
  assertClose(sampled(await sumG.data(), 1), await cat((x) => ops.sum(x, -1)), 1e-3, 1e-5, 'sum');
  assertClose(sampled(await ops.argmax(g, -1).data(), 1), await cat((x) => ops.argmax(x, -1)), 0, 0, 'argmax');
  const sm = await ops.softmax(g).data();
  assertClose(sampled(sm, V), await cat((x) => ops.softmax(x)), 1e-7, 1e-4, 'softmax');
  const ce = await ops.crossEntropyPerRow(g, tg).data();
  const ceWant = rows.map((r) => (targets[r] === -100 ? 0 : ops.crossEntropyPerRow(crow(r), fromHost([targets[r]], [1], 'i32', 'cpu')).dataSync()[0]));
  assertClose(sampled(ce, 1), ceWant, 1e-5, 1e-5, 'cross-entropy');
  g.dispose();
});

test.run();
