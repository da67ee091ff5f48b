import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../../src/ops/index.js';
import { Tensor, fromHost } from '../../src/tensor/tensor.js';
import { assertTensorsClose, gpu, randn } from '../helpers/gpu.js';
import { check, qkv } from '../helpers/attention.js';

test('forward matches the f64 reference: head dims 16/64/128, Tq/Tk in {1,17,88,106}, causal and not, strided views', async () => {
  const dev = await gpu();
  for (const D of [16, 64, 128]) {
    const H = D === 128 ? 2 : 3;
    for (const [Tq, Tk] of [[17, 17], [88, 106], [106, 88], [1, 106], [17, 1]]) {
      for (const causal of [false, true]) await check(dev, 2, H, Tq, Tk, D, { causal, strided: Tq === 88 }, 'grid');
    }
  }
});

test('a 1500 x 1500 problem with small H·D', async () => {
  const dev = await gpu();
  await check(dev, 1, 1, 1500, 1500, 16, {}, 'long');
});

test('key padding (numbers and an i32 tensor, including an empty row), additive bias, head masks with zeros', async () => {
  const dev = await gpu();
  const B = 3, H = 2, Tq = 17, Tk = 88, D = 64;
  await check(dev, B, H, Tq, Tk, D, { keyLengths: [88, 40, 0] }, 'lens');
  await check(dev, B, H, Tq, Tk, D, { keyLengths: fromHost([5, 88, 17], [B], 'i32', 'cpu'), causal: true, queryOffset: 3 }, 'lens tensor');
  await check(dev, B, H, Tq, Tk, D, { bias: fromHost(randn(H * Tq * Tk, 7), [H, Tq, Tk], 'f32', 'cpu') }, 'bias [H,Tq,Tk]');
  await check(dev, B, H, Tq, Tk, D, { bias: fromHost(randn(B * H * Tq * Tk, 8), [B, H, Tq, Tk], 'f32', 'cpu'), causal: true }, 'bias [B,H,Tq,Tk]');
  await check(dev, B, H, Tq, Tk, D, { bias: fromHost(randn(H * Tk, 9), [1, H, 1, Tk], 'f32', 'cpu') }, 'broadcast bias');
  await check(dev, B, H, Tq, Tk, D, { headMask: fromHost([1, 0, 0, 1, 0.5, 0], [B, H], 'f32', 'cpu') }, 'headMask [B,H]');
  await check(dev, B, H, Tq, Tk, D, { headMask: fromHost([0, 1], [H], 'f32', 'cpu'), causal: true, keyLengths: [3, 88, 50] }, 'headMask [H]');
  await check(dev, 1, 3, 106, 106, 128, { headMask: fromHost([1, 0, 1], [1, 3], 'f32', 'cpu'), causal: true }, 'LLaMA-like mask');
});

test('scale, queryOffset (continuing a KV cache), f16 storage, odd head dims and unaligned views', async () => {
  const dev = await gpu();
  await check(dev, 2, 2, 5, 20, 64, { causal: true, queryOffset: 15 }, 'prefill continuation');
  await check(dev, 2, 2, 17, 17, 64, { scale: 0.3 }, 'scale');
  await check(dev, 2, 3, 88, 106, 64, { dtype: 'f16', causal: true }, 'f16');
  await check(dev, 1, 2, 17, 23, 20, { causal: true }, 'D=20');
  // D=6 through views whose offset is not a multiple of 4 (scalar load and store paths)
  const [qc, qg] = qkv(dev, 1, 2, 18, 6, 3);
  const [kc, kg] = qkv(dev, 1, 2, 18, 6, 4);
  const [vc, vg] = qkv(dev, 1, 2, 18, 6, 5);
  const sl = (t: Tensor) => t.slice(2, 1);
  await assertTensorsClose(ops.attention(sl(qg), sl(kg), sl(vg)), ops.attention(sl(qc), sl(kc), sl(vc)), 1e-4, 1e-4, 'unaligned views');
});

test('workgroup-memory tile variant (the GPU path) matches the reference', async () => {
  const dev = await gpu();
  dev.tuning.attention = { tile: 16, wg: 16, qpt: 1, bk: 2 };
  try {
    await check(dev, 2, 2, 40, 17, 16, { causal: true, keyLengths: [17, 7], bias: fromHost(randn(2 * 40 * 17, 3), [2, 40, 17], 'f32', 'cpu'), headMask: fromHost([0, 1], [2], 'f32', 'cpu') }, 'tile');
  } finally {
    delete dev.tuning.attention;
  }
});

test('shape validation', async () => {
  const dev = await gpu();
  const q = fromHost(new Float32Array(2 * 3 * 4 * 8), [2, 3, 4, 8], 'f32', dev);
  const k = fromHost(new Float32Array(2 * 3 * 5 * 8), [2, 3, 5, 8], 'f32', dev);
  assert.throws(() => ops.attention(q, k, q), /does not match/);
  assert.throws(() => ops.attention(q, k, k, { keyLengths: [1] }), /keyLengths/);
  assert.throws(() => ops.attention(q, k, k, { bias: fromHost(new Float32Array(12), [3, 4, 1], 'f32', dev).broadcastTo([3, 4, 4]) }), /bias/);
  assert.throws(() => ops.attention(q, k, k, { headMask: fromHost(new Float32Array(2), [2], 'f32', dev) }), /headMask/);
});

test.run();
