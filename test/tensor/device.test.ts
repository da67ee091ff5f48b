import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GpuError, AhamaskError } from '../../src/index.js';
import { Device, sizeClass } from '../../src/tensor/device.js';
import { nodeGpu } from '../../src/node/index.js';
import { add, exp } from '../../src/index.js';
import { fromHost, tidy, empty } from '../../src/index.js';
import { assertClose, gpu } from '../helpers/gpu.js';

test('size classes are quarter powers of two with bounded slack', () => {
  for (const b of [1, 255, 256, 257, 1000, 4096, 5000, 1 << 20, (1 << 20) + 1, 141557760]) {
    const c = sizeClass(b);
    assert.ok(c >= b && c <= Math.max(256, b * 1.26), `${b} -> ${c}`);
  }
});

test('buffer pool reuses released buffers by size class', async () => {
  const dev = await gpu();
  const a = empty([1000], 'f32', dev);
  const buf = a.storage.buffer;
  a.dispose();
  const before = dev.stats.buffersCreated;
  const b = empty([990], 'f32', dev);
  assert.is(b.storage.buffer, buf);
  assert.is(dev.stats.buffersCreated, before);
  b.dispose();
});

test('pipelines are compiled once; many dispatches share one submit', async () => {
  const dev = await gpu();
  const x = fromHost(Float32Array.from({ length: 300 }, (_, i) => i / 300), [300], 'f32', dev);
  tidy(() => exp(add(x, x)));
  await dev.sync();
  const compiles = dev.stats.pipelineCompiles, submits = dev.stats.submits, dispatches = dev.stats.dispatches;
  let y = x;
  for (let i = 0; i < 50; i++) {
    const z = exp(add(y, x));
    if (y !== x) y.dispose();
    y = z;
  }
  assert.is(dev.stats.submits, submits, 'no submit before the readback');
  await y.data();
  assert.is(dev.stats.pipelineCompiles, compiles, 'no new pipeline');
  assert.is(dev.stats.dispatches - dispatches, 100);
  assert.is(dev.stats.submits - submits, 1, 'one submit for 100 dispatches and the readback copy');
});

test('use after dispose and oversize allocations are clear errors', async () => {
  const dev = await gpu();
  const x = fromHost([1, 2, 3], [3], 'f32', dev);
  x.dispose();
  assert.throws(() => add(x, x), (e: unknown) => e instanceof AhamaskError && /disposed/.test((e as Error).message));
  assert.throws(() => dev.allocate(dev.limits.maxBufferSize + 1024), (e: unknown) => e instanceof GpuError && /maxBufferSize/.test((e as Error).message));
});

test('a lost device becomes a GpuError naming the loss', async () => {
  const other = await Device.create({ gpu: nodeGpu(), owner: nodeGpu() });
  const x = fromHost([1, 2, 3], [3], 'f32', other);
  other.gpu.destroy();
  await other.gpu.lost;
  await new Promise((r) => setTimeout(r, 10));
  let err: unknown;
  try {
    await add(x, x).data();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof GpuError, String(err));
  assert.match((err as Error).message, /lost/);
});

test('tidy disposes intermediates and keeps results', async () => {
  const dev = await gpu();
  const x = fromHost([1, 2, 3], [3], 'f32', dev);
  let mid: ReturnType<typeof add> | null = null;
  const out = tidy(() => {
    mid = add(x, x);
    return { y: exp(mid) };
  });
  assert.ok(mid!.isDisposed);
  assert.not.ok(out.y.isDisposed);
  assert.not.ok(x.isDisposed);
  assertClose(await out.y.data(), [2, 4, 6].map(Math.exp), 0, 1e-6, 'exp(2x)');
});

test.run();
