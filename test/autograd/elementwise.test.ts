import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as o from '../../src/ops/elementwise.js';
import type { Tensor } from '../../src/index.js';
import { gpu } from '../helpers/gpu.js';
import { analyticGrads, gradcheck, gpuMatchesCpu, InputSpec } from './check.js';
import { backward, requiresGrad } from '../../src/index.js';
import { tensor } from '../../src/index.js';

// Inputs kept away from kinks/poles by more than 2h where the op needs it.
const awayFrom0 = (n: number, seed: number) => Array.from({ length: n }, (_, i) => ((i * 7 + seed) % 5) * 0.25 + 0.3125).map((v, i) => (i % 2 ? -v : v));
const positive = (n: number) => Array.from({ length: n }, (_, i) => 0.5 + ((i * 3) % 7) * 0.25);

const UNARY: [string, (x: Tensor) => Tensor, ((n: number) => number[]) | null][] = [
  ['exp', o.exp, null],
  ['log', o.log, positive],
  ['sqrt', o.sqrt, positive],
  ['rsqrt', o.rsqrt, positive],
  ['neg', o.neg, null],
  ['abs', o.abs, (n) => awayFrom0(n, 1)],
  ['square', o.square, null],
  ['relu', o.relu, (n) => awayFrom0(n, 2)],
  ['gelu', o.gelu, null],
  ['erf', o.erf, null],
  ['silu', o.silu, null],
  ['sigmoid', o.sigmoid, null],
  ['tanh', o.tanh, null],
  ['affine', (x) => o.affine(x, -1.5, 0.25), null],
  ['powScalar 3', (x) => o.powScalar(x, 3), null],
  ['powScalar 0.5', (x) => o.powScalar(x, 0.5), positive],
  ['powScalar -2', (x) => o.powScalar(x, -2), positive],
  ['clamp', (x) => o.clamp(x, -0.5, 0.75), (n) => Array.from({ length: n }, (_, i) => [-1.25, -0.25, 0.125, 0.5, 1.25, -0.875][i % 6])],
];

test('unary op gradients match finite differences (CPU)', async () => {
  for (const [name, f, vals] of UNARY) {
    const shape = [3, 4];
    const spec: InputSpec = { shape, ...(vals ? { values: vals(12) } : {}) };
    await gradcheck(f, [spec], { what: name });
  }
});

test('gelu gradient at 0 is 0.5, relu and abs gradients at 0 are 0', async () => {
  for (const [f, want] of [[o.gelu, 0.5], [o.relu, 0], [o.abs, 0]] as const) {
    const x = requiresGrad(tensor([0], [1], { device: 'cpu' }));
    const y = f(x);
    backward(y);
    assert.is((await x.grad!.data())[0], want);
  }
});

const BIN: [string, (a: Tensor, b: Tensor) => Tensor][] = [
  ['add', o.add],
  ['sub', o.sub],
  ['mul', o.mul],
  ['div', o.div],
  ['axpy', (a, b) => o.axpy(a, b, -0.75)],
  ['maximum', o.maximum],
  ['minimum', o.minimum],
];
const BROADCAST: [number[], number[]][] = [[[3, 4], [3, 4]], [[3, 4], [4]], [[2, 1, 3], [1, 4, 1]], [[1], [2, 3]], [[2, 3], [2, 1]]];

test('binary op gradients with broadcasting match finite differences (CPU)', async () => {
  let seed = 10;
  for (const [name, f] of BIN) {
    for (const [sa, sb] of BROADCAST) {
      const nb = sb.reduce((a, b) => a * b, 1);
      // div: keep b away from 0; maximum/minimum: inputs distinct (away from ties) by construction.
      const specB: InputSpec = name === 'div' ? { shape: sb, values: positive(nb) } : name === 'maximum' || name === 'minimum' ? { shape: sb, values: awayFrom0(nb, seed).map((v) => v + 0.0625) } : { shape: sb };
      const na = sa.reduce((a, b) => a * b, 1);
      const specA: InputSpec = name === 'maximum' || name === 'minimum' ? { shape: sa, values: awayFrom0(na, seed + 1) } : { shape: sa };
      await gradcheck(f, [specA, specB], { what: `${name} [${sa}] [${sb}]`, seed: seed++ });
    }
  }
});

test('maximum/minimum split the gradient on ties, as PyTorch', async () => {
  const [ga, gb] = await analyticGrads(o.maximum, [{ shape: [2] }, { shape: [2] }], [[1, 2], [1, 3]], 1, 'cpu');
  // R for seed 1 is fixed; the tie splits it in half, the rest goes to the larger input.
  assert.ok(Math.abs(ga![0] - gb![0]) < 1e-7);
  assert.is(ga![1], 0);
});

test('view gradients: reshape, permute, transpose, broadcastTo, contiguous, cast, squeeze', async () => {
  await gradcheck((x) => x.reshape([4, 3]), [{ shape: [2, 6] }], { what: 'reshape' });
  await gradcheck((x) => o.mul(x.permute([2, 0, 1]), x.permute([2, 0, 1])), [{ shape: [2, 3, 4] }], { what: 'permute' });
  await gradcheck((x) => x.transpose(0, 1).contiguous().reshape([-1]), [{ shape: [3, 5] }], { what: 'transpose+contiguous+reshape' });
  await gradcheck((x) => x.broadcastTo([2, 3, 4]), [{ shape: [3, 1] }], { what: 'broadcastTo' });
  await gradcheck((x) => o.exp(x.cast('f16')), [{ shape: [5] }], { what: 'cast f16', atol: 5e-3, rtol: 5e-3 });
  await gradcheck((x) => x.unsqueeze(1).squeeze(1), [{ shape: [3, 2] }], { what: 'unsqueeze/squeeze' });
});

test('slice gradient (zeros outside the slice)', async () => {
  await gradcheck((x) => x.slice(1, 1, 3), [{ shape: [2, 5] }], { what: 'slice' });
  await gradcheck((x) => x.transpose(0, 1).slice(0, 2), [{ shape: [2, 5] }], { what: 'slice of a view' });
});

test('GPU gradients equal CPU gradients (elementwise and views)', async () => {
  const dev = await gpu();
  for (const [name, f, vals] of UNARY) await gpuMatchesCpu(dev, f, [{ shape: [5, 3], ...(vals ? { values: vals(15) } : {}) }], { what: name });
  for (const [name, f] of BIN) {
    const pos = name === 'div' ? { values: positive(4) } : {};
    await gpuMatchesCpu(dev, f, [{ shape: [3, 4] }, { shape: [4], ...pos }], { what: name });
  }
  await gpuMatchesCpu(dev, (x) => o.mul(x.permute([1, 0]).broadcastTo([2, 4, 3]), x.transpose(0, 1)), [{ shape: [3, 4] }], { what: 'views' });
});

test.run();
