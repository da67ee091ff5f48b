import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../../src/ops/index.js';
import { fromHost } from '../../src/tensor/tensor.js';
import { assertTensorsClose, gpu, randn } from '../helpers/gpu.js';
import { check, qkv } from '../helpers/attention.js';

test('decode path (one query): split-K + reduce, single split, with mask/padding/bias/f16', async () => {
  const dev = await gpu();
  await check(dev, 2, 3, 1, 300, 128, {}, 'decode 300');
  await check(dev, 2, 3, 1, 300, 128, { causal: true, queryOffset: 280, keyLengths: [300, 100] }, 'decode causal');
  await check(dev, 4, 2, 1, 17, 64, {}, 'decode Q-Former-like');
  dev.tuning.decode = { chunk: 64 };
  try {
    await check(dev, 2, 2, 1, 200, 64, { headMask: fromHost([1, 0, 0.5, 1], [2, 2], 'f32', 'cpu'), keyLengths: [200, 64] }, 'decode splits');
    await check(dev, 2, 2, 1, 150, 64, { bias: fromHost(randn(2 * 150, 4), [2, 1, 150], 'f32', 'cpu') }, 'decode bias');
  } finally {
    delete dev.tuning.decode;
  }
  // the generic (workgroup-memory) split kernel, the GPU path
  dev.tuning.decode = { chunk: 64, subgroups: false };
  try {
    await check(dev, 2, 2, 1, 200, 64, { headMask: fromHost([1, 0, 0.5, 1], [2, 2], 'f32', 'cpu'), keyLengths: [200, 64], causal: true, queryOffset: 150 }, 'decode generic splits');
    await check(dev, 2, 2, 1, 40, 64, { bias: fromHost(randn(2 * 40, 4), [2, 1, 40], 'f32', 'cpu') }, 'decode generic direct');
  } finally {
    delete dev.tuning.decode;
  }
});

test('kvAppend writes in place (f32 and f16 caches, odd positions, strided input); kvReorder follows beams', async () => {
  const dev = await gpu();
  for (const dt of ['f32', 'f16'] as const) {
    const B = 3, H = 2, Tmax = 9, D = 5;
    const cc = fromHost(new Float32Array(B * H * Tmax * D), [B, H, Tmax, D], dt, 'cpu');
    const cg = fromHost(new Float32Array(B * H * Tmax * D), [B, H, Tmax, D], dt, dev);
    let at = 0;
    for (const [Tn, seed] of [[3, 1], [1, 2], [2, 3]]) {
      const [nc, ng] = qkv(dev, B, H, Tn, D, seed, { strided: true });
      const vc = ops.kvAppend(cc, nc, at), vg = ops.kvAppend(cg, ng, at);
      at += Tn;
      assert.equal(vg.shape, [B, H, at, D]);
      assert.is(vg.storage, cg.storage);
      await assertTensorsClose(vg, vc, 0, 0, `${dt} append view`);
    }
    await assertTensorsClose(cg, cc, 0, 0, `${dt} whole cache`);
    ops.kvReorder(cc, [2, 0, 0], at);
    ops.kvReorder(cg, [2, 0, 0], at);
    await assertTensorsClose(cg, cc, 0, 0, `${dt} reorder`);
    const idx = fromHost([1, 1, 2], [3], 'i32', dev);
    ops.kvReorder(cc, [1, 1, 2]);
    ops.kvReorder(cg, idx);
    await assertTensorsClose(cg, cc, 0, 0, `${dt} reorder by tensor`);
  }
  assert.throws(() => ops.kvAppend(fromHost(new Float32Array(8), [1, 1, 2, 4], 'f32', dev), fromHost(new Float32Array(12), [1, 1, 3, 4], 'f32', dev), 0), /exceed/);
});

test('decode against a KV cache equals attention over the full sequence', async () => {
  const dev = await gpu();
  const B = 2, H = 2, D = 64, T = 12, Tmax = 16;
  const [qc, qg] = qkv(dev, B, H, T, D, 1);
  const [kc, kg] = qkv(dev, B, H, T, D, 2);
  const [vc, vg] = qkv(dev, B, H, T, D, 3);
  const kcache = fromHost(new Float32Array(B * H * Tmax * D), [B, H, Tmax, D], 'f16', dev);
  const vcache = fromHost(new Float32Array(B * H * Tmax * D), [B, H, Tmax, D], 'f16', dev);
  const full = ops.attention(qc, kc.cast('f16'), vc.cast('f16'), { causal: true });
  ops.kvAppend(kcache, kg.slice(2, 0, 8), 0);
  ops.kvAppend(vcache, vg.slice(2, 0, 8), 0);
  const pre = ops.attention(qg.slice(2, 0, 8), kcache.slice(2, 0, 8), vcache.slice(2, 0, 8), { causal: true });
  await assertTensorsClose(pre, full.slice(2, 0, 8), 1e-4, 1e-4, 'prefill');
  for (let t = 8; t < T; t++) {
    const kv = ops.kvAppend(kcache, kg.slice(2, t, t + 1), t);
    const vv = ops.kvAppend(vcache, vg.slice(2, t, t + 1), t);
    const step = ops.attention(qg.slice(2, t, t + 1), kv, vv, { causal: true });
    await assertTensorsClose(step, full.slice(2, t, t + 1), 1e-4, 1e-4, `step ${t}`);
  }
});

test.run();
