import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as o from '../../src/ops/elementwise.js';
import * as r from '../../src/ops/reduce.js';
import { backward, requiresGrad } from '../../src/index.js';
import { fromHost } from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { gpu } from '../helpers/gpu.js';
import { gradcheck, gpuMatchesCpu, InputSpec } from './check.js';

const distinct = (n: number) => Array.from({ length: n }, (_, i) => ((i * 37) % n) * 0.125 - n * 0.0625);
const pos = (T: number, B?: number) => ({ shape: B ? [B, T] : [T], dtype: 'i32' as const, values: Array.from({ length: (B ?? 1) * T }, (_, i) => (i % T) * 3 + (B ? Math.floor(i / T) : 0)) });

// [name, fn, specs]
const CASES: [string, (...xs: Tensor[]) => Tensor, InputSpec[], number?][] = [
  ['sum axis 1', (x) => r.sum(x, 1), [{ shape: [2, 3, 4] }]],
  ['sum keepDims', (x) => r.sum(x, -1, true), [{ shape: [3, 4] }]],
  ['mean axis 0', (x) => r.mean(x, 0), [{ shape: [3, 4] }]],
  ['mean keepDims', (x) => r.mean(x, 1, true), [{ shape: [2, 3, 2] }]],
  ['max', (x) => r.max(x, 1), [{ shape: [3, 5], values: distinct(15) }]],
  ['max keepDims', (x) => r.max(x, 0, true), [{ shape: [4, 3], values: distinct(12) }]],
  ['softmax', (x) => r.softmax(x, -1), [{ shape: [3, 5] }]],
  ['softmax axis 0', (x) => r.softmax(x, 0), [{ shape: [4, 3] }]],
  ['logSoftmax', (x) => r.logSoftmax(x, -1), [{ shape: [3, 5] }]],
  ['layerNorm', (x, w, b) => r.layerNorm(x, w, b, 1e-5), [{ shape: [2, 3, 6] }, { shape: [6] }, { shape: [6] }], 5e-3],
  ['layerNorm no affine', (x) => r.layerNorm(x, null, null, 1e-5), [{ shape: [4, 5] }], 5e-3],
  ['layerNorm weight only', (x, w) => r.layerNorm(x, w, null, 1e-5), [{ shape: [4, 5] }, { shape: [5] }], 5e-3],
  ['rmsNorm', (x, w) => r.rmsNorm(x, w, 1e-6), [{ shape: [2, 3, 6] }, { shape: [6] }], 5e-3],
  ['rope bhtd', (x, p) => r.rope(x, p, 10000), [{ shape: [2, 2, 3, 4] }, pos(3)]],
  ['rope bthd, [B, T] positions', (x, p) => r.rope(x, p, 500, { layout: 'bthd' }), [{ shape: [2, 3, 2, 6] }, pos(3, 2)]],
  ['concat', (a, b, c) => r.concat([a, b, c], 1), [{ shape: [2, 1, 3] }, { shape: [2, 3, 3] }, { shape: [2, 2, 3] }]],
  ['stack', (a, b) => r.stack([a, b], 1), [{ shape: [2, 3] }, { shape: [2, 3] }]],
  ['crossEntropy with ignored rows', (l, t) => r.crossEntropy(l, t), [{ shape: [5, 7] }, { shape: [5], dtype: 'i32', values: [3, -100, 0, 6, -100] }]],
  ['crossEntropy other ignoreIndex', (l, t) => r.crossEntropy(l, t, 2), [{ shape: [4, 3] }, { shape: [4], dtype: 'i32', values: [2, 1, 0, 2] }]],
  ['crossEntropyPerRow', (l, t) => r.crossEntropyPerRow(l, t), [{ shape: [4, 6] }, { shape: [4], dtype: 'i32', values: [5, -100, 1, 0] }]],
  ['softmax of a strided view', (x) => r.softmax(x.transpose(0, 1), -1), [{ shape: [5, 3] }]],
];

test('reduce-group gradients match finite differences (CPU)', async () => {
  let seed = 1;
  for (const [name, f, specs, tol] of CASES) await gradcheck(f, specs, { what: name, seed: seed++, atol: tol, rtol: tol });
});

test('crossEntropy gradient: mean over non-ignored rows as PyTorch (hand values)', async () => {
  // logits rows [0, 0] (target 0), [ln 3, 0] (ignored): loss = ln 2, dlogits row 0 = [-0.5, 0.5], row 1 = 0.
  const l = requiresGrad(fromHost([0, 0, Math.log(3), 0], [2, 2], 'f32', 'cpu'));
  const t = fromHost([0, -100], [2], 'i32', 'cpu');
  const loss = r.crossEntropy(l, t);
  assert.ok(Math.abs((await loss.item()) - Math.LN2) < 1e-6);
  backward(loss);
  const g = await l.grad!.array();
  assert.equal(g.map((v) => Math.round(v * 1e6) / 1e6), [-0.5, 0.5, 0, 0]);
});

test('GPU gradients equal CPU gradients (reduce group)', async () => {
  const dev = await gpu();
  let seed = 100;
  for (const [name, f, specs] of CASES) await gpuMatchesCpu(dev, f, specs, { what: name, seed: seed++, atol: 2e-4, rtol: 2e-4 });
});

test('composite: softmax(x)·w summed, gradient through broadcast mul and sum', async () => {
  await gradcheck((x, w) => r.sum(o.mul(r.softmax(x, -1), w), -1), [{ shape: [3, 4] }, { shape: [4] }], { what: 'composite' });
});

test.run();
