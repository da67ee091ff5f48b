import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv1d, conv2d } from '../../src/index.js';
import * as r from '../../src/ops/reduce.js';
import { setOpHook } from '../../src/index.js';
import { backward, requiresGrad } from '../../src/index.js';
import { fromHost } from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { gpu, randn } from '../helpers/gpu.js';
import { gradcheck, gpuMatchesCpu, InputSpec } from './check.js';

type Case = [string, (...xs: Tensor[]) => Tensor, InputSpec[]];

const CONV1D: Case[] = [
  ['stride 1, padding 0', (x, w) => conv1d(x, w), [{ shape: [2, 3, 7] }, { shape: [4, 3, 3] }]],
  ['stride 1, padding 1, bias', (x, w, b) => conv1d(x, w, b, { padding: 1 }), [{ shape: [2, 3, 7] }, { shape: [4, 3, 3] }, { shape: [4] }]],
  ['stride 2, padding 1, bias, gelu', (x, w, b) => conv1d(x, w, b, { stride: 2, padding: 1, activation: 'gelu' }), [{ shape: [2, 4, 9] }, { shape: [6, 4, 3] }, { shape: [6] }]],
  ['stride 2, padding 0, unused tail', (x, w) => conv1d(x, w, undefined, { stride: 2 }), [{ shape: [1, 2, 8] }, { shape: [3, 2, 3] }]],
  ['groups 2, padding 1, bias, gelu', (x, w, b) => conv1d(x, w, b, { padding: 1, groups: 2, activation: 'gelu' }), [{ shape: [2, 4, 8] }, { shape: [6, 2, 3] }, { shape: [6] }]],
  ['groups 2, stride 2, even K', (x, w) => conv1d(x, w, undefined, { stride: 2, groups: 2 }), [{ shape: [1, 4, 11] }, { shape: [4, 2, 4] }]],
  ['padding > K-1, stride 3', (x, w, b) => conv1d(x, w, b, { stride: 3, padding: 3 }), [{ shape: [2, 2, 5] }, { shape: [3, 2, 2] }, { shape: [3] }]],
  ['K = 1', (x, w) => conv1d(x, w, undefined, { stride: 2 }), [{ shape: [2, 3, 5] }, { shape: [2, 3, 1] }]],
  // BEATs positional conv scaled down: [B, T, C] input seen transposed, even K with padding K/2, groups, GELU.
  ['strided input, groups 2, K 4, padding 2, gelu', (x, w, b) => conv1d(x.transpose(1, 2), w, b, { padding: 2, groups: 2, activation: 'gelu' }), [{ shape: [2, 6, 4] }, { shape: [4, 2, 4] }, { shape: [4] }]],
  ['f16 frozen weight', (x, w) => conv1d(x, w, undefined, { padding: 1 }), [{ shape: [1, 2, 6] }, { shape: [3, 2, 3], dtype: 'f16', grad: false }]],
  ['f16 input, trainable weight', (x, w, b) => conv1d(x, w, b, { stride: 2, padding: 1, activation: 'gelu' }), [{ shape: [1, 2, 7], dtype: 'f16', grad: false }, { shape: [3, 2, 3] }, { shape: [3] }]],
];

const CONV2D: Case[] = [
  ['stride 2, kernel 2, bias (odd H, W: uncovered tail)', (x, w, b) => conv2d(x, w, b, { stride: 2 }), [{ shape: [2, 3, 5, 7] }, { shape: [4, 3, 2, 2] }, { shape: [4] }]],
  ['BEATs patch embed: 1 channel, stride = kernel 4', (x, w) => conv2d(x.unsqueeze(1), w, undefined, { stride: 4 }), [{ shape: [2, 8, 12] }, { shape: [5, 1, 4, 4] }]],
  ['stride = kernel [2, 3], padding [1, 1]', (x, w, b) => conv2d(x, w, b, { stride: [2, 3], padding: 1 }), [{ shape: [1, 2, 5, 7] }, { shape: [3, 2, 2, 3] }, { shape: [3] }]],
  ['general: kernel [3, 2], stride [1, 2], padding [1, 0], bias', (x, w, b) => conv2d(x, w, b, { stride: [1, 2], padding: [1, 0] }), [{ shape: [2, 2, 5, 6] }, { shape: [3, 2, 3, 2] }, { shape: [3] }]],
  ['overlapping: kernel 3, stride 2, padding 1', (x, w) => conv2d(x, w, undefined, { stride: 2, padding: 1 }), [{ shape: [1, 2, 6, 5] }, { shape: [3, 2, 3, 3] }]],
  ['stride 3 > kernel 2, padding 2', (x, w) => conv2d(x, w, undefined, { stride: 3, padding: 2 }), [{ shape: [1, 2, 5, 4] }, { shape: [2, 2, 2, 2] }]],
  ['strided input', (x, w) => conv2d(x.permute([0, 3, 1, 2]), w, undefined, { padding: 1 }), [{ shape: [1, 4, 5, 2] }, { shape: [2, 2, 3, 3] }]],
];

test('conv1d gradients match finite differences (CPU)', async () => {
  let seed = 1;
  for (const [name, f, specs] of CONV1D) await gradcheck(f, specs, { what: `conv1d ${name}`, seed: seed++, atol: 3e-3, rtol: 3e-3 });
});

test('conv2d gradients match finite differences (CPU)', async () => {
  let seed = 100;
  for (const [name, f, specs] of CONV2D) await gradcheck(f, specs, { what: `conv2d ${name}`, seed: seed++, atol: 3e-3, rtol: 3e-3 });
});

/** Ops run by backward(sum(f())). */
function backwardOps(y: Tensor): string[] {
  const loss = r.sum(r.sum(r.sum(y.reshape([y.shape[0], y.shape[1], -1]), 2), 1), 0);
  const ops: string[] = [];
  const prev = setOpHook((n, i, a, o) => {
    ops.push(n);
    prev?.(n, i, a, o);
  });
  try {
    backward(loss);
  } finally {
    setOpHook(prev);
  }
  return ops;
}
const count = (ops: string[], name: string) => ops.filter((n) => n === name).length;

test('conv1d: a frozen weight computes no dW, a frozen input no dx; only what is needed is saved', async () => {
  for (const act of ['none', 'gelu'] as const) {
    const x = requiresGrad(fromHost(randn(2 * 4 * 9, 1), [2, 4, 9], 'f32', 'cpu'));
    const w = fromHost(randn(6 * 2 * 3, 2), [6, 2, 3], 'f32', 'cpu');
    const ops = backwardOps(conv1d(x, w, undefined, { stride: 2, padding: 1, groups: 2, activation: act }));
    assert.is(count(ops, 'matmul'), 0, `no dW matmul (${act})`);
    assert.is(count(ops, 'conv1d'), act === 'gelu' ? 2 : 1, `dx conv (+ recompute) (${act})`);
    assert.is(w.grad, null);
    assert.ok(x.grad);
    assert.is(w.storage.refs, 1, 'nothing left on the tape');
  }
  // x frozen, w trainable: x is saved, w is not; no dx conv.
  const x2 = fromHost(randn(2 * 4 * 9, 3), [2, 4, 9], 'f32', 'cpu');
  const w2 = requiresGrad(fromHost(randn(6 * 2 * 3, 4), [6, 2, 3], 'f32', 'cpu'));
  const b2 = requiresGrad(fromHost(randn(6, 5), [6], 'f32', 'cpu'));
  const y = conv1d(x2, w2, b2, { stride: 2, padding: 1, groups: 2 });
  assert.is(w2.storage.refs, 1);
  assert.is(x2.storage.refs, 2);
  const ops = backwardOps(y);
  assert.is(count(ops, 'conv1d'), 0);
  assert.is(count(ops, 'matmul'), 1);
  assert.ok(w2.grad && b2.grad);
  assert.is(x2.storage.refs, 1);
});

test('conv2d: a frozen weight computes no dW, a frozen input no dx', async () => {
  const x = requiresGrad(fromHost(randn(2 * 3 * 8 * 8, 6), [2, 3, 8, 8], 'f32', 'cpu'));
  const w = fromHost(randn(4 * 3 * 2 * 2, 7), [4, 3, 2, 2], 'f32', 'cpu');
  // stride = kernel: dx is one matmul, dW would be another.
  let ops = backwardOps(conv2d(x, w, undefined, { stride: 2 }));
  assert.is(count(ops, 'matmul'), 1);
  assert.is(w.grad, null);
  assert.is(w.storage.refs, 1);
  ops = backwardOps(conv2d(x, w, undefined, { stride: 1, padding: 1 }));
  assert.is(count(ops, 'matmul'), 0);
  assert.is(count(ops, 'conv2d'), 1);
  const x2 = fromHost(randn(2 * 3 * 8 * 8, 8), [2, 3, 8, 8], 'f32', 'cpu');
  const w2 = requiresGrad(fromHost(randn(4 * 3 * 2 * 2, 9), [4, 3, 2, 2], 'f32', 'cpu'));
  ops = backwardOps(conv2d(x2, w2, undefined, { stride: 1, padding: 1 }));
  assert.is(count(ops, 'conv2d'), 0);
  assert.is(count(ops, 'matmul'), 1);
  assert.ok(w2.grad);
  assert.is(x2.storage.refs, 1);
});

test('GPU gradients equal CPU gradients (conv1d, conv2d)', async () => {
  const dev = await gpu();
  let seed = 200;
  for (const [name, f, specs] of [...CONV1D, ...CONV2D]) await gpuMatchesCpu(dev, f, specs, { what: name, seed: seed++, atol: 3e-4, rtol: 3e-4 });
});

test.run();
