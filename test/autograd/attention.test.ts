import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attention, attentionWithLse } from '../../src/index.js';
import { backward, gumbelSigmoid, requiresGrad } from '../../src/index.js';
import { linear } from '../../src/index.js';
import { crossEntropy, rmsNorm } from '../../src/index.js';
import { fromHost } from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { gpu, randn } from '../helpers/gpu.js';
import { gradcheck, gpuMatchesCpu, InputSpec } from './check.js';

const B = 2, H = 2, Tq = 3, Tk = 4, D = 4;
const qkv: InputSpec[] = [{ shape: [B, H, Tq, D] }, { shape: [B, H, Tk, D] }, { shape: [B, H, Tk, D] }];
const self: InputSpec[] = [{ shape: [B, H, Tk, D] }, { shape: [B, H, Tk, D] }, { shape: [B, H, Tk, D] }];

const CASES: [string, (...xs: Tensor[]) => Tensor, InputSpec[]][] = [
  ['plain', (q, k, v) => attention(q, k, v), qkv],
  ['causal self-attention', (q, k, v) => attention(q, k, v, { causal: true }), self],
  ['causal with queryOffset (KV prefix)', (q, k, v) => attention(q, k, v, { causal: true }), qkv],
  ['scale + keyLengths array', (q, k, v) => attention(q, k, v, { scale: 0.3, keyLengths: [2, 4] }), qkv],
  ['keyLengths tensor', (q, k, v, l) => attention(q, k, v, { keyLengths: l }), [...qkv, { shape: [B], dtype: 'i32', values: [3, 1] }]],
  ['frozen bias [H, Tq, Tk]', (q, k, v, b) => attention(q, k, v, { bias: b }), [...qkv, { shape: [H, Tq, Tk], grad: false }]],
  ['headMask [B, H] (dHeadMask)', (q, k, v, m) => attention(q, k, v, { headMask: m }), [...qkv, { shape: [B, H], values: [1, 0, 0.5, -2] }]],
  ['headMask [H] broadcast over batch', (q, k, v, m) => attention(q, k, v, { headMask: m, causal: true }), [...self, { shape: [H], values: [0.75, 1.5] }]],
  ['only the mask needs grad (frozen q, k, v)', (q, k, v, m) => attention(q, k, v, { headMask: m }), [{ ...qkv[0], grad: false }, { ...qkv[1], grad: false }, { ...qkv[2], grad: false }, { shape: [B, H] }]],
  ['attentionWithLse (o, lse saved)', (q, k, v, m) => attentionWithLse(q, k, v, { headMask: m })[0], [...qkv, { shape: [B, H] }]],
  ['strided q, k, v views ([B, T, H, D] -> [B, H, T, D])', (q, k, v) => attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)), [{ shape: [B, Tq, H, D] }, { shape: [B, Tk, H, D] }, { shape: [B, Tk, H, D] }]],
];

test('attention gradients (dq, dk, dv, dHeadMask) match finite differences (CPU)', async () => {
  let seed = 1;
  for (const [name, f, specs] of CASES) await gradcheck(f, specs, { what: name, seed: seed++, atol: 3e-3, rtol: 3e-3 });
});

test('a bias that requires grad is rejected', () => {
  const t = (s: number[]) => fromHost(randn(s.reduce((a, b) => a * b, 1), 1), s, 'f32', 'cpu');
  const bias = requiresGrad(t([H, Tq, Tk]));
  assert.throws(() => attention(t([B, H, Tq, D]), t([B, H, Tk, D]), t([B, H, Tk, D]), { bias }), /bias/);
});

test('only dHeadMask requested: dq/dk/dv not returned, mask gradient shape [B, H]', async () => {
  const t = (s: number[], seed: number) => fromHost(randn(s.reduce((a, b) => a * b, 1), seed), s, 'f32', 'cpu');
  const m = requiresGrad(fromHost([1, 1, 1, 1], [B, H], 'f32', 'cpu'));
  const o = attention(t([B, H, Tq, D], 1), t([B, H, Tk, D], 2), t([B, H, Tk, D], 3), { headMask: m });
  backward(o, fromHost(new Float32Array(o.size).fill(1), o.shape, 'f32', 'cpu'));
  assert.equal(m.grad!.shape, [B, H]);
});

test('AHAMask-shaped graph: θ -> (soft) Gumbel-sigmoid -> per-layer head masks -> frozen 2-layer model -> CE', async () => {
  const L = 2, Hh = 2, Dh = 4, d = Hh * Dh, T = 5, V = 6, Bt = 2;
  const frozen = (s: number[], seed: number) => fromHost(randn(s.reduce((a, b) => a * b, 1), seed, 0.5), s, 'f32', 'cpu');
  const W = Array.from({ length: L }, (_, l) => ({ q: frozen([d, d], 10 * l + 1), k: frozen([d, d], 10 * l + 2), v: frozen([d, d], 10 * l + 3), o: frozen([d, d], 10 * l + 4), n: frozen([d], 10 * l + 5) }));
  const x0 = frozen([Bt, T, d], 99), head = frozen([V, d], 98);
  const tgt = fromHost([1, 2, -100, 4, 5, 0, -100, 3, 2, 1], [Bt * T], 'i32', 'cpu');
  const E = Float32Array.from(randn(Bt * L * (Hh + 1), 5), (z) => Math.exp(z));
  const split = (t: Tensor) => t.reshape([Bt, T, Hh, Dh]).transpose(1, 2);
  const f = (theta: Tensor) => {
    const m = gumbelSigmoid(theta, { tau: 0.7, batch: Bt, noise: E, hard: false });
    let h = x0;
    for (let l = 0; l < L; l++) {
      const a = rmsNorm(h, W[l].n, 1e-6);
      const mask = m.slice(1, l * (Hh + 1), l * (Hh + 1) + Hh); // the FFN slot is unused, as AHAMask
      const o = attention(split(linear(a, W[l].q)), split(linear(a, W[l].k)), split(linear(a, W[l].v)), { causal: true, headMask: mask });
      h = linear(o.transpose(1, 2).reshape([Bt, T, d]), W[l].o, undefined, { residual: h });
    }
    return crossEntropy(linear(h, head).reshape([Bt * T, V]), tgt);
  };
  await gradcheck(f, [{ shape: [L * (Hh + 1)], scale: 1.5 }], { what: 'ahamask graph', atol: 2e-3, rtol: 2e-3 });
  // Only θ requires grad: no weight gradient anywhere.
  for (const w of W) for (const t of Object.values(w)) assert.is(t.grad, null);
});

test('GPU gradients equal CPU gradients (attention)', async () => {
  const dev = await gpu();
  let seed = 40;
  for (const [name, f, specs] of CASES) await gpuMatchesCpu(dev, f, specs, { what: name, seed: seed++, atol: 2e-4, rtol: 2e-4 });
});

test.run();
