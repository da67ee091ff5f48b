import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { linear, matmul } from '../../src/index.js';
import * as r from '../../src/ops/reduce.js';
import { setOpHook } from '../../src/index.js';
import { backward, requiresGrad } from '../../src/index.js';
import { fromHost } from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { gpu, randn } from '../helpers/gpu.js';
import { gradcheck, gpuMatchesCpu, InputSpec } from './check.js';

const CASES: [string, (...xs: Tensor[]) => Tensor, InputSpec[]][] = [
  ['2-D', (a, b) => matmul(a, b), [{ shape: [3, 4] }, { shape: [4, 5] }]],
  ['transA', (a, b) => matmul(a, b, { transA: true }), [{ shape: [4, 3] }, { shape: [4, 5] }]],
  ['transB', (a, b) => matmul(a, b, { transB: true }), [{ shape: [3, 4] }, { shape: [5, 4] }]],
  ['transA transB alpha', (a, b) => matmul(a, b, { transA: true, transB: true, alpha: 0.5 }), [{ shape: [4, 3] }, { shape: [5, 4] }]],
  ['batched', (a, b) => matmul(a, b), [{ shape: [2, 3, 4] }, { shape: [2, 4, 2] }]],
  ['batched a, shared b', (a, b) => matmul(a, b), [{ shape: [2, 3, 4] }, { shape: [4, 2] }]],
  ['batched a, shared b^T', (a, b) => matmul(a, b, { transB: true }), [{ shape: [2, 3, 4] }, { shape: [2, 4] }]],
  ['batched a^T, shared b', (a, b) => matmul(a, b, { transA: true }), [{ shape: [2, 4, 3] }, { shape: [4, 2] }]],
  ['shared a, batched b', (a, b) => matmul(a, b, { transB: true }), [{ shape: [3, 4] }, { shape: [2, 5, 4] }]],
  ['broadcast batch dims', (a, b) => matmul(a, b), [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }]],
  ['bias', (a, b, c) => matmul(a, b, { bias: c }), [{ shape: [3, 4] }, { shape: [4, 5] }, { shape: [5] }]],
  ['bias + gelu', (a, b, c) => matmul(a, b, { bias: c, activation: 'gelu', transB: true }), [{ shape: [2, 3, 4] }, { shape: [5, 4] }, { shape: [5] }]],
  ['silu + alpha', (a, b) => matmul(a, b, { activation: 'silu', alpha: 0.75 }), [{ shape: [3, 4] }, { shape: [4, 5] }]],
  ['bias + relu + residual', (a, b, c, d) => matmul(a, b, { bias: c, activation: 'relu', residual: d }), [{ shape: [3, 4] }, { shape: [4, 5] }, { shape: [5], values: [0.5, -0.25, 0.75, 0.125, -0.5] }, { shape: [3, 5] }]],
  ['broadcast residual', (a, b, d) => matmul(a, b, { residual: d }), [{ shape: [2, 3, 4] }, { shape: [4, 5] }, { shape: [3, 5] }]],
  ['linear 3-D', (x, w, b) => linear(x, w, b), [{ shape: [2, 3, 4] }, { shape: [5, 4] }, { shape: [5] }]],
  ['linear 1-D', (x, w) => linear(x, w), [{ shape: [4] }, { shape: [3, 4] }]],
  ['linear silu + residual', (x, w, res) => linear(x, w, undefined, { activation: 'silu', residual: res }), [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [3, 5] }]],
  ['f16 frozen weight', (x, w) => linear(x, w), [{ shape: [3, 4] }, { shape: [5, 4], dtype: 'f16', grad: false }]],
  ['operand is a strided view', (a, b) => matmul(a.transpose(0, 1), b.slice(0, 1, 5)), [{ shape: [4, 3] }, { shape: [6, 5] }]],
];

test('matmul/linear gradients match finite differences (CPU)', async () => {
  let seed = 1;
  for (const [name, f, specs] of CASES) await gradcheck(f, specs, { what: name, seed: seed++, atol: 3e-3, rtol: 3e-3 });
});

test('gather (embedding) gradient: scatter-add with repeated ids', async () => {
  await gradcheck((t, ids) => r.gather(t, ids), [{ shape: [5, 3] }, { shape: [2, 3], dtype: 'i32', values: [4, 0, 4, 1, 1, 4] }], { what: 'gather' });
});

test('a frozen weight gets no dW: one matmul in backward (two with an activation: recompute + dx)', async () => {
  const x = requiresGrad(fromHost(randn(12, 1), [3, 4], 'f32', 'cpu'));
  const w = fromHost(randn(20, 2), [5, 4], 'f32', 'cpu');
  const count = (act: 'none' | 'gelu') => {
    const loss = r.sum(r.sum(linear(x, w, undefined, { activation: act }), 1), 0);
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
    return ops.filter((n) => n === 'matmul').length;
  };
  assert.is(count('none'), 1);
  assert.is(count('gelu'), 2);
  assert.is(w.grad, null);
  assert.is(w.storage.refs, 1, 'nothing left on the tape');
  // x frozen, w trainable: x is saved, w is not.
  const x2 = fromHost(randn(12, 3), [3, 4], 'f32', 'cpu');
  const w2 = requiresGrad(fromHost(randn(20, 4), [5, 4], 'f32', 'cpu'));
  const y = linear(x2, w2);
  assert.is(w2.storage.refs, 1);
  assert.is(x2.storage.refs, 2);
  backward(r.sum(r.sum(y, 1), 0));
  assert.ok(w2.grad);
});

test('GPU gradients equal CPU gradients (matmul, linear, gather)', async () => {
  const dev = await gpu();
  let seed = 50;
  for (const [name, f, specs] of CASES) await gpuMatchesCpu(dev, f, specs, { what: name, seed: seed++, atol: 2e-4, rtol: 2e-4 });
  await gpuMatchesCpu(dev, (t, ids) => r.gather(t, ids), [{ shape: [5, 3] }, { shape: [4], dtype: 'i32', values: [4, 0, 4, 1] }], { what: 'gather' });
});

test.run();
