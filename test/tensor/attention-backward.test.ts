import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../../src/ops/index.js';
import { AttnProblem, attentionBackwardRef, attentionRef } from '../../src/kernels/cpu/attention.js';
import { Tensor, fromHost } from '../../src/tensor/tensor.js';
import type { Device } from '../../src/tensor/device.js';
import type { DType } from '../../src/tensor/dtype.js';
import { assertClose, assertTensorsClose, gpu, randn } from '../helpers/gpu.js';

test('f64 reference backward matches central finite differences (causal, padding, bias, head mask)', () => {
  const B = 2, H = 2, Tq = 3, Tk = 5, D = 3;
  const base: AttnProblem = {
    B, H, Tq, Tk, D,
    q: Float64Array.from(randn(B * H * Tq * D, 1)),
    k: Float64Array.from(randn(B * H * Tk * D, 2)),
    v: Float64Array.from(randn(B * H * Tk * D, 3)),
    bias: Float64Array.from(randn(B * H * Tq * Tk, 4)),
    mask: Float64Array.from([1, 0, 0.7, 1]),
    lens: [5, 3],
    causal: true,
    scale: 0.6,
    queryOffset: 1,
  };
  const G = Float64Array.from(randn(B * H * Tq * D, 5));
  const loss = (p: AttnProblem) => attentionRef(p).out.reduce((s, x, i) => s + x * G[i], 0);
  const g = attentionBackwardRef(base, G);
  const eps = 1e-6;
  for (const [name, grad] of [['q', g.dq], ['k', g.dk], ['v', g.dv], ['mask', g.dmask]] as const) {
    const x = base[name]!;
    const fd = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const plus = x.slice(), minus = x.slice();
      plus[i] += eps;
      minus[i] -= eps;
      fd[i] = (loss({ ...base, [name]: plus }) - loss({ ...base, [name]: minus })) / (2 * eps);
    }
    assertClose(grad, fd, 1e-7, 1e-6, `d${name}`);
  }
});

function pair(dev: Device, shape: number[], seed: number, dtype: DType = 'f32', strided = false): [Tensor, Tensor] {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = randn(n, seed);
  if (strided) {
    const [B, H, T, D] = shape;
    return [fromHost(v, [B, T, H, D], dtype, 'cpu').permute([0, 2, 1, 3]), fromHost(v, [B, T, H, D], dtype, dev).permute([0, 2, 1, 3])];
  }
  return [fromHost(v, shape, dtype, 'cpu'), fromHost(v, shape, dtype, dev)];
}

type Opts = NonNullable<Parameters<typeof ops.attention>[3]>;

async function check(dev: Device, B: number, H: number, Tq: number, Tk: number, D: number, o: Opts & { dtype?: DType; strided?: boolean } = {}, what = '') {
  const { dtype, strided, ...opts } = o;
  const [qc, qg] = pair(dev, [B, H, Tq, D], 11, dtype, strided);
  const [kc, kg] = pair(dev, [B, H, Tk, D], 12, dtype, strided);
  const [vc, vg] = pair(dev, [B, H, Tk, D], 13, dtype, strided);
  const [gc, gg] = pair(dev, [B, H, Tq, D], 14);
  const gopts: Opts = { ...opts };
  for (const key of ['bias', 'headMask', 'keyLengths'] as const) {
    const t = opts[key];
    if (t instanceof Tensor) (gopts as Record<string, unknown>)[key] = await t.to(dev);
  }
  const [oc, lc] = ops.attentionWithLse(qc, kc, vc, opts);
  const [og, lg] = ops.attentionWithLse(qg, kg, vg, gopts);
  const c = ops.attentionBackward(qc, kc, vc, oc, gc, lc, opts);
  const g = ops.attentionBackward(qg, kg, vg, og, gg, lg, gopts);
  const name = `${what} B${B} H${H} Tq${Tq} Tk${Tk} D${D}`;
  await assertTensorsClose(g.dq, c.dq, 2e-4, 2e-3, `${name} dq`);
  await assertTensorsClose(g.dk, c.dk, 2e-4, 2e-3, `${name} dk`);
  await assertTensorsClose(g.dv, c.dv, 2e-4, 2e-3, `${name} dv`);
  assert.is(!!g.dHeadMask, !!opts.headMask);
  if (c.dHeadMask) await assertTensorsClose(g.dHeadMask!, c.dHeadMask, 2e-4, 2e-3, `${name} dHeadMask`);
}

test('GPU backward matches the CPU reference: head dims 16/64/128, causal, padding, bias, masks with zeros, f16, strided', async () => {
  const dev = await gpu();
  await check(dev, 2, 2, 17, 17, 16, {}, 'plain');
  await check(dev, 2, 2, 17, 17, 16, { causal: true, keyLengths: [17, 9] }, 'causal padded');
  await check(dev, 1, 3, 88, 106, 64, { headMask: fromHost([1, 0, 0.5], [3], 'f32', 'cpu'), strided: true }, 'mask [H]');
  await check(dev, 1, 2, 1, 33, 64, { headMask: fromHost([1, 0], [2], 'f32', 'cpu') }, 'one query');
  await check(dev, 2, 2, 40, 40, 16, { bias: fromHost(randn(2 * 40 * 40, 5), [2, 40, 40], 'f32', 'cpu'), headMask: fromHost([0, 1, 1, 0], [2, 2], 'f32', 'cpu'), causal: true }, 'bias + mask [B,H]');
  await check(dev, 1, 2, 106, 106, 128, { causal: true, headMask: fromHost([0, 1], [1, 2], 'f32', 'cpu') }, 'LLaMA-like');
  await check(dev, 2, 2, 17, 30, 16, { dtype: 'f16', keyLengths: fromHost([30, 12], [2], 'i32', 'cpu') }, 'f16 + lens tensor');
});

test('direct (non-subgroup) layout of the backward matches too', async () => {
  const dev = await gpu();
  dev.tuning.attentionBackwardDirect = true;
  try {
    await check(dev, 2, 2, 17, 23, 16, { causal: true, headMask: fromHost([1, 0], [2], 'f32', 'cpu'), keyLengths: [20, 23] }, 'direct');
  } finally {
    delete dev.tuning.attentionBackwardDirect;
  }
});

test.run();
