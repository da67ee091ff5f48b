import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AdamW, SGD, assign, requiresGrad, ahamaskScheduler, LinearWarmupCosineLRScheduler } from '../../src/index.js';
import { Tensor, fromHost, keep } from '../../src/tensor/tensor.js';
import type { Device } from '../../src/index.js';
import { assertClose, gpu } from '../helpers/gpu.js';

const P0 = [1.0, -2.0, 0.5, 0.0];
const GRADS = [
  [0.1, -0.2, 0.3, 0.0],
  [0.4, 0.0, -0.1, 1e-3],
  [-0.3, 0.2, 0.05, -2.0],
];

function setGrad(p: Tensor, g: number[]): void {
  p.grad?.dispose();
  p.grad = keep(fromHost(g, p.shape, 'f32', p.backend === 'cpu' ? 'cpu' : p.device!));
}

/** torch.optim.AdamW's single-tensor update, written out in float64 (the reference). */
function adamwReference(p0: number[], grads: number[][], lr: number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number[][] {
  const p = [...p0], m = p0.map(() => 0), v = p0.map(() => 0);
  const out: number[][] = [];
  grads.forEach((g, k) => {
    const step = k + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * wd;
      m[i] += (g[i] - m[i]) * (1 - b1); // lerp_
      v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i]; // mul_ + addcmul_
      const bc1 = 1 - b1 ** step, bc2 = 1 - b2 ** step;
      const stepSize = lr / bc1;
      const denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + eps;
      p[i] += -stepSize * (m[i] / denom); // addcdiv_
    }
    out.push([...p]);
  });
  return out;
}

async function runAdamW(target: 'cpu' | Device, lr: number, wd: number): Promise<number[][]> {
  const p = requiresGrad(fromHost(P0, [4], 'f32', target));
  const opt = new AdamW([p], { lr, weightDecay: wd });
  const out: number[][] = [];
  for (const g of GRADS) {
    setGrad(p, g);
    opt.step();
    out.push(await p.array());
  }
  return out;
}

test('AdamW: first step by hand (p = 1, g = 0.1, lr 1e-2, wd 1e-2)', async () => {
  // p·(1 - 1e-4) = 0.9999; m̂ = 0.1, v̂ = 0.01 -> p -= 1e-2 · 0.1 / (0.1 + 1e-8)
  const got = (await runAdamW('cpu', 1e-2, 1e-2))[0][0];
  const want = 0.9999 - (1e-2 * 0.1) / (0.1 + 1e-8);
  assert.ok(Math.abs(got - want) < 1e-7, `${got} vs ${want}`);
});

test('AdamW matches torch.optim.AdamW for 3 steps (CPU), with and without weight decay', async () => {
  for (const [lr, wd] of [[1e-2, 0], [1e-3, 1e-2], [0.1, 0.05]]) {
    const got = await runAdamW('cpu', lr, wd);
    const want = adamwReference(P0, GRADS, lr, wd);
    for (let k = 0; k < 3; k++) assertClose(got[k], want[k], 1e-7, 1e-6, `AdamW lr ${lr} wd ${wd} step ${k + 1}`);
  }
});

test('AdamW defaults are PyTorch\'s; parameters without a gradient are skipped', async () => {
  const p = requiresGrad(fromHost([1], [1], 'f32', 'cpu'));
  const q = requiresGrad(fromHost([1], [1], 'f32', 'cpu'));
  const opt = new AdamW([p, q]);
  const o = opt.groups[0].options;
  assert.equal([o.lr, o.betas, o.eps, o.weightDecay], [1e-3, [0.9, 0.999], 1e-8, 1e-2]);
  setGrad(p, [1]);
  opt.step();
  assert.equal(await q.array(), [1]);
  assert.is(opt.state.get(q), undefined);
  assert.is(opt.state.get(p)!.step, 1);
});

test('AdamW state export/import (plain arrays) resumes identically', async () => {
  const a = requiresGrad(fromHost(P0, [4], 'f32', 'cpu'));
  const optA = new AdamW([a], { lr: 1e-2, weightDecay: 0 });
  for (const g of GRADS.slice(0, 2)) {
    setGrad(a, g);
    optA.step();
  }
  const sd = JSON.parse(JSON.stringify(await optA.exportState()));
  assert.is(sd.params[0].step, 2);
  const b = requiresGrad(fromHost(await a.array(), [4], 'f32', 'cpu'));
  const optB = new AdamW([b], { lr: 5 });
  optB.importState(sd);
  assert.is(optB.lr, 1e-2);
  setGrad(a, GRADS[2]);
  setGrad(b, GRADS[2]);
  optA.step();
  optB.step();
  assert.equal(await b.array(), await a.array());
});

test('AdamW on the GPU equals the CPU', async () => {
  const dev = await gpu();
  const c = await runAdamW('cpu', 1e-2, 1e-2);
  const g = await runAdamW(dev, 1e-2, 1e-2);
  for (let k = 0; k < 3; k++) assertClose(g[k], c[k], 1e-6, 1e-5, `step ${k + 1}`);
});

test('SGD: plain, momentum, dampening, nesterov, weight decay (torch semantics, by hand)', async () => {
  const run = async (opts: ConstructorParameters<typeof SGD>[1], grads: number[]) => {
    const p = requiresGrad(fromHost([1], [1], 'f32', 'cpu'));
    const opt = new SGD([p], opts);
    const out = [];
    for (const g of grads) {
      setGrad(p, [g]);
      opt.step();
      out.push(Math.round((await p.item()) * 1e6) / 1e6);
    }
    return out;
  };
  assert.equal(await run({ lr: 0.1 }, [1, 1]), [0.9, 0.8]);
  // buf = 1, then 0.9·1 + 1 = 1.9: p = 0.9, 0.71
  assert.equal(await run({ lr: 0.1, momentum: 0.9 }, [1, 1]), [0.9, 0.71]);
  // dampening only after the first step: buf = 1, then 0.9 + 0.5 = 1.4
  assert.equal(await run({ lr: 0.1, momentum: 0.9, dampening: 0.5 }, [1, 1]), [0.9, 0.76]);
  // nesterov: d = g + 0.9·buf: 1.9, then buf = 1.9, d = 1 + 1.71 = 2.71
  assert.equal(await run({ lr: 0.1, momentum: 0.9, nesterov: true }, [1, 1]), [0.81, 0.539]);
  // weight decay: d = g + 0.5·p = 1.5
  assert.equal(await run({ lr: 0.1, weightDecay: 0.5 }, [1]), [0.85]);
});

test('assign overwrites in place on both backends, from strided sources', async () => {
  const dev = await gpu();
  for (const target of ['cpu', dev] as const) {
    const dst = fromHost([0, 0, 0, 0, 0, 0], [2, 3], 'f32', target);
    const src = fromHost([1, 2, 3, 4, 5, 6], [3, 2], 'f32', target).transpose(0, 1);
    assign(dst, src);
    assert.equal(await dst.array(), [1, 3, 5, 2, 4, 6]);
  }
});

test('LinearWarmupCosineLRScheduler: AHAMask config at steps 0, 1, 2999, 3000, 45000, 89999 (spec §6.3)', () => {
  const opt = { lr: 0 };
  const s = ahamaskScheduler(opt);
  const warm = (i: number) => Math.min(1e-2, 1e-6 + ((1e-2 - 1e-6) * i) / 3000);
  const cos = (st: number) => (1e-2 - 1e-4) * 0.5 * (1 + Math.cos((Math.PI * st) / 90000)) + 1e-4;
  const at = (st: number) => s.step(Math.floor(st / 3000), st % 3000);
  const cases: [number, number, number][] = [
    [0, warm(0), 1e-6],
    [1, warm(1), 1e-6 + 9.999e-3 / 3000],
    [2999, warm(2999), 1e-6 + (9.999e-3 * 2999) / 3000],
    [3000, cos(3000), 9.9e-3 * 0.5 * (1 + 0.9945218953682733) + 1e-4],
    [45000, cos(45000), 9.9e-3 * 0.5 + 1e-4],
    [89999, cos(89999), 1e-4 + 9.9e-3 * 0.5 * (1 - Math.cos(Math.PI / 90000))],
  ];
  for (const [st, formula, byHand] of cases) {
    const lr = at(st);
    assert.is(lr, formula, `step ${st}`);
    assert.ok(Math.abs(lr - byHand) < 1e-15, `step ${st}: ${lr} vs ${byHand}`);
    assert.is(opt.lr, lr);
  }
  assert.ok(Math.abs(at(45000) - 0.00505) < 1e-15);
});

test('LinearWarmupCosineLRScheduler: warmup uses the step within the epoch; warmupStartLr < 0 means initLr', () => {
  const s = new LinearWarmupCosineLRScheduler(null, { maxEpoch: 2, itersPerEpoch: 10, minLr: 0, initLr: 1, warmupSteps: 15, warmupStartLr: 0 });
  assert.is(s.lrAt(0, 3), 3 / 15);
  assert.is(s.lrAt(1, 2), 2 / 15); // total 12 < 15: warmup with cur_step 2, as LAVIS
  assert.is(s.lrAt(1, 5), 0.5 * (1 + Math.cos(Math.PI * 15 / 20)));
  const t = new LinearWarmupCosineLRScheduler(null, { maxEpoch: 1, itersPerEpoch: 10, minLr: 0, initLr: 0.5, warmupSteps: 4 });
  assert.is(t.lrAt(0, 0), 0.5);
});

test.run();
