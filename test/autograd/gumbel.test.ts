import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, backward, gumbelSigmoid, gumbelTau, ahamaskTau, requiresGrad } from '../../src/index.js';
import { fromHost } from '../../src/index.js';
import { assertClose, gpu } from '../helpers/gpu.js';

const sig = (x: number) => 1 / (1 + Math.exp(-x));

test('forward and straight-through backward against hand-computed values', async () => {
  // θ = [0.5, 1, -1], E = [1, e^-2, e^3] -> G = [0, -2, 3], z = [0.5, -1, 2], τ = 0.5 -> z/τ = [1, -2, 4]
  const theta = requiresGrad(fromHost([0.5, 1, -1], [3], 'f32', 'cpu'));
  const m = gumbelSigmoid(theta, { tau: 0.5, noise: [1, Math.exp(-2), Math.exp(3)] });
  assert.equal(m.shape, [1, 3]);
  assert.equal(await m.array(), [1, 0, 1]);
  const up = fromHost([1, 2, 3], [1, 3], 'f32', 'cpu');
  backward(m, up);
  const s = [sig(1), sig(-2), sig(4)];
  const want = s.map((v, i) => ((i + 1) * v * (1 - v)) / 0.5);
  assertClose(await theta.grad!.array(), want, 1e-6, 1e-5, 'dθ');
});

test('batch rows get independent noise; dθ sums over rows; y_soft = 0.5 exactly gives 0 (strict >)', async () => {
  const theta = requiresGrad(fromHost([0, 2], [2], 'f32', 'cpu'));
  // row 0: E = [1, 1] -> z = [0, 2]; row 1: E = [e, e^-3] -> z = [1, -1]
  const E = [1, 1, Math.E, Math.exp(-3)];
  const m = gumbelSigmoid(theta, { tau: 2, batch: 2, noise: E });
  assert.equal(await m.array(), [0, 1, 1, 0]);
  backward(m, fromHost([1, 1, 1, 1], [2, 2], 'f32', 'cpu'));
  const d = (z: number) => (sig(z / 2) * (1 - sig(z / 2))) / 2;
  assertClose(await theta.grad!.array(), [d(0) + d(1), d(2) + d(-1)], 1e-6, 1e-5, 'dθ');
});

test("noise 'none' is E = 1 (G = 0): hard = [θ > 0], gradient σ'(θ/τ)/τ; hard: false returns y_soft", async () => {
  const theta = requiresGrad(fromHost([-0.5, 0, 0.25], [3], 'f32', 'cpu'));
  const m = gumbelSigmoid(theta, { tau: 4, noise: 'none' });
  assert.equal(await m.array(), [0, 0, 1]);
  backward(m, fromHost([1, 1, 1], [1, 3], 'f32', 'cpu'));
  assertClose(await theta.grad!.array(), [-0.5, 0, 0.25].map((t) => (sig(t / 4) * (1 - sig(t / 4))) / 4), 1e-7, 1e-5);
  const soft = gumbelSigmoid(theta, { tau: 4, noise: 'none', hard: false });
  assertClose(await soft.array(), [-0.5, 0, 0.25].map((t) => sig(t / 4)), 1e-7, 1e-6);
  const torchLike = gumbelSigmoid(theta, { tau: 4, noise: 'none', torchArithmetic: true });
  assertClose(await torchLike.array(), [0, 0, 1], 1e-7, 0);
});

test('seeded sampling: reproducible, P(on) = exp(-e^-θ) (left-tail Gumbel), rows independent', async () => {
  const n = 4000, B = 5;
  const theta = fromHost(new Float32Array(n).fill(0), [n], 'f32', 'cpu');
  const a = await gumbelSigmoid(theta, { tau: 1, batch: B, rng: new Rng(42) }).array();
  const b = await gumbelSigmoid(theta, { tau: 1, batch: B, rng: new Rng(42) }).array();
  assert.equal(a, b);
  const p = a.reduce((s, v) => s + v, 0) / (n * B);
  assert.ok(Math.abs(p - Math.exp(-1)) < 0.015, `P(on | θ=0) = ${p}, expected ${Math.exp(-1)}`);
  const th2 = fromHost(new Float32Array(n).fill(1), [n], 'f32', 'cpu');
  const c = await gumbelSigmoid(th2, { tau: 0.3, batch: 1, rng: new Rng(7) }).array();
  const p2 = c.reduce((s, v) => s + v, 0) / n;
  assert.ok(Math.abs(p2 - Math.exp(-Math.exp(-1))) < 0.025, `P(on | θ=1) = ${p2}`);
  let same = 0;
  for (let i = 0; i < n; i++) same += a[i] === a[n + i] ? 1 : 0;
  assert.ok(same < n * 0.75, 'rows differ');
});

test('GPU matches CPU with injected noise (forward and dθ)', async () => {
  const dev = await gpu();
  const r = new Rng(3);
  const th = r.normalArray(12, 0, 2), E = r.exponentialArray(24), up = r.normalArray(24);
  const res = [];
  for (const target of ['cpu', dev] as const) {
    const theta = requiresGrad(fromHost(th, [3, 4], 'f32', target));
    const m = gumbelSigmoid(theta, { tau: 0.7, batch: 2, noise: E });
    backward(m, fromHost(up, [2, 3, 4], 'f32', target));
    res.push([await m.array(), await theta.grad!.array()]);
  }
  assert.equal(res[1][0], res[0][0]);
  assertClose(res[1][1], res[0][1], 1e-5, 1e-4, 'dθ');
});

test('τ schedule: linear 4 -> 0.05 over the first 30 % of steps, then constant', () => {
  assert.is(ahamaskTau(0), 4);
  assert.ok(Math.abs(ahamaskTau(13500) - (4 - 0.5 * 3.95)) < 1e-12);
  assert.ok(Math.abs(ahamaskTau(26999) - (4 - (26999 / 27000) * 3.95)) < 1e-12);
  assert.is(ahamaskTau(27000), 0.05);
  assert.is(ahamaskTau(89999), 0.05);
  assert.is(gumbelTau(5, { start: 1, end: 0, decaySteps: 10 }), 0.5);
});

test('Rng: seeded, uniform in (0, 1), state round trip', () => {
  const a = new Rng(1), b = new Rng(1), c = new Rng(2);
  const xs = Array.from({ length: 1000 }, () => a.uniform());
  assert.equal(xs, Array.from({ length: 1000 }, () => b.uniform()));
  assert.not.equal(xs.slice(0, 5), Array.from({ length: 5 }, () => c.uniform()));
  assert.ok(xs.every((x) => x > 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.03);
  a.normal();
  const st = JSON.parse(JSON.stringify(a.getState()));
  const d = new Rng(99);
  d.setState(st);
  assert.equal([d.normal(), d.uniform(), d.exponential()], [a.normal(), a.uniform(), a.exponential()]);
});

test.run();
