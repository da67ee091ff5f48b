import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setOpHook } from '../../src/kernels/registry.js';
import * as o from '../../src/ops/elementwise.js';
import * as r from '../../src/ops/reduce.js';
import {
  backward, checkpoint, detach, freeGraph, grad, gradOp, isTracked, noGrad, registerGrad, requiresGrad,
} from '../../src/autograd/index.js';
import { Tensor, fromHost, tidy } from '../../src/tensor/tensor.js';
import { gpu } from '../helpers/gpu.js';
import { gradcheck } from './check.js';

const cpu = (v: number[], shape = [v.length]) => fromHost(v, shape, 'f32', 'cpu');
const round = (a: ArrayLike<number>) => Array.from(a, (x) => Math.round(x * 1e5) / 1e5);

/** Runs fn and returns the names of the ops it ran (outermost kernels). */
function spy<T>(fn: () => T): { result: T; ops: string[]; outputs: Tensor[] } {
  const ops: string[] = [];
  const outputs: Tensor[] = [];
  let prev: ReturnType<typeof setOpHook> = null;
  prev = setOpHook((n, i, a, out) => {
    ops.push(n);
    outputs.push(...out);
    prev?.(n, i, a, out);
  });
  try {
    return { result: fn(), ops, outputs };
  } finally {
    setOpHook(prev);
  }
}

test('records only ops on tracked tensors; noGrad records nothing', async () => {
  const x = requiresGrad(cpu([1, 2, 3]));
  const c = cpu([4, 5, 6]);
  assert.ok(isTracked(o.exp(x)));
  assert.not.ok(isTracked(o.exp(c)));
  const y = noGrad(() => o.exp(x));
  assert.not.ok(isTracked(y));
  assert.throws(() => backward(r.sum(y, 0)), /does not require grad/);
  assert.not.ok(isTracked(o.greater(x, c)), 'comparisons are not differentiable');
  assert.not.ok(isTracked(detach(x)));
});

test('frozen inputs: no gradient is computed for them and nothing is saved for them', async () => {
  const x = requiresGrad(cpu([1, 2, 3]));
  const w = cpu([4, 5, 6]); // frozen
  const y = o.mul(x, w);
  // mul saves b (w) for dx only; x is not saved since w needs no grad.
  assert.is(x.storage.refs, 1, 'x not retained by the tape');
  assert.is(w.storage.refs, 2, 'w retained by the tape');
  const { ops } = spy(() => backward(r.sum(y, 0)));
  assert.equal(ops.filter((n) => n === 'mul').length, 1, 'only dx = g*w');
  assert.equal(await x.grad!.array(), [4, 5, 6]);
  assert.is(w.grad, null);
  assert.is(w.storage.refs, 1, 'released after backward');
});

test('saved tensors survive tidy() of the forward and are released after backward', async () => {
  const x = requiresGrad(cpu([0.5, -1]));
  let ySt: Tensor['storage'] | null = null;
  const loss = tidy(() => {
    const y = o.exp(x); // saves its output
    ySt = y.storage;
    return r.sum(o.mul(y, y), 0);
  });
  assert.is(ySt!.refs, 3, 'the handle is gone; exp (output) and mul (both operands) keep the storage');
  backward(loss);
  assert.is(ySt!.refs, 0);
  // d/dx Σ exp(x)² = 2 exp(2x)
  assert.equal(round(await x.grad!.array()), round([2 * Math.exp(1), 2 * Math.exp(-2)]));
});

test('backward disposes every tensor it creates except the leaf gradients', async () => {
  const x = requiresGrad(cpu([0.1, 0.2, 0.3, 0.4], [2, 2]));
  const w = requiresGrad(cpu([1, -1]));
  const loss = r.mean(r.sum(o.mul(o.tanh(o.add(x, w)), o.sigmoid(x)), 1), 0);
  const { outputs } = spy(() => backward(loss));
  const live = outputs.filter((t) => !t.isDisposed);
  assert.ok(outputs.length > 5);
  assert.equal(new Set(live.map((t) => t.storage)).size, live.length);
  for (const t of live) assert.ok(t === x.grad || t === w.grad || t.storage === x.grad!.storage || t.storage === w.grad!.storage, `leaked [${t.shape}]`);
});

test('a tensor used twice accumulates both paths; leaf grads accumulate across backward calls', async () => {
  const x = requiresGrad(cpu([3]));
  backward(r.sum(o.mul(x, x), 0));
  assert.equal(await x.grad!.array(), [6]);
  backward(r.sum(o.add(x, x), 0));
  assert.equal(await x.grad!.array(), [8]);
  backward(r.sum(o.add(o.exp(x), o.exp(x)), 0));
  assert.ok(Math.abs((await x.grad!.item()) - (8 + 2 * Math.exp(3))) < 1e-4);
});

test('retainGraph allows a second backward; without it the graph is freed', async () => {
  const x = requiresGrad(cpu([2]));
  const y = r.sum(o.square(x), 0);
  backward(y, undefined, { retainGraph: true });
  backward(y);
  assert.equal(await x.grad!.array(), [8]);
  assert.throws(() => backward(y), /already freed/);
  const z = r.sum(o.exp(x), 0);
  freeGraph(z);
  assert.throws(() => backward(z), /already freed/);
});

test('grad() returns gradients without touching .grad; explicit output gradient', async () => {
  const x = requiresGrad(cpu([1, 2]));
  const y = o.scale(x, 3);
  const [gx] = grad(y, [x], cpu([1, -1]));
  assert.equal(await gx!.array(), [3, -3]);
  assert.is(x.grad, null);
  assert.throws(() => backward(o.scale(x, 2)), /non-scalar/);
});

test('gradcheck detects a wrong registered gradient: its mismatch error, not any error', async () => {
  registerGrad('exp', { backward: (_c, [g]) => [o.scale(g!, 1.5)] }); // wrong on purpose, restored below
  let err: unknown = null;
  try {
    await gradcheck(o.exp, [{ shape: [3] }], { what: 'wrong exp' });
  } catch (e) {
    err = e;
  } finally {
    registerGrad('exp', { save: ({ outputs: [y] }) => [y], backward: (c, [g]) => [o.mul(g!, c.saved[0]!)] });
  }
  assert.ok(err instanceof Error, `gradcheck accepted a gradient 1.5x too large (threw ${String(err)})`);
  // the numeric-vs-analytic comparison itself failed (assertClose's message), not a crash elsewhere
  assert.match((err as Error).message, /^wrong exp input 0: mismatch at \d+: \S+ vs expected \S+ \(max \|diff\| /);
  await gradcheck(o.exp, [{ shape: [3] }]);
});

test('checkpoint: same gradients as without, block recorded as one node, closure parameters get gradients', async () => {
  const w = requiresGrad(cpu([0.5, -0.25, 1.5]));
  const block = (h: Tensor) => o.tanh(o.mul(o.add(h, w), w));
  const run = (ck: boolean) => {
    const x = requiresGrad(cpu([0.1, 0.2, -0.3]));
    w.grad = null;
    const h1 = ck ? checkpoint(block, [x]) : block(x);
    if (ck) assert.is(gradOp(h1), 'checkpoint');
    const h2 = ck ? checkpoint(block, [h1]) : block(h1);
    backward(r.sum(o.square(h2), 0));
    return [x.grad!, w.grad!];
  };
  const [a, b] = run(false);
  const [c, d] = run(true);
  assert.equal(round(await c.array()), round(await a.array()));
  assert.equal(round(await d.array()), round(await b.array()));
  // Only the closure parameter is tracked: still recorded.
  w.grad = null;
  const y = checkpoint(block, [cpu([1, 2, 3])]);
  backward(r.sum(y, 0));
  assert.ok(w.grad);
});

test('GPU: backward with tidy and the pool: a training step does not grow GPU memory', async () => {
  const dev = await gpu();
  const x = requiresGrad(fromHost([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3], 'f32', dev));
  const w = requiresGrad(fromHost([1, 2, 3], [3], 'f32', dev));
  const step = () =>
    tidy(() => {
      const loss = r.mean(r.sum(o.mul(r.softmax(o.mul(x, w), -1), w), 1), 0);
      backward(loss);
    });
  step();
  x.grad!.dispose(); w.grad!.dispose(); x.grad = w.grad = null;
  await dev.sync();
  const before = dev.stats.bytesAllocated;
  for (let i = 0; i < 5; i++) {
    step();
    x.grad!.dispose(); w.grad!.dispose(); x.grad = w.grad = null;
  }
  await dev.sync();
  assert.ok(dev.stats.bytesAllocated <= before, `${dev.stats.bytesAllocated} > ${before}`);
});

test.run();
