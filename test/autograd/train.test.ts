// End-to-end training: an MLP learns XOR; a tiny transformer LM memorises a short string.
import '../../src/index.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as o from '../../src/ops/elementwise.js';
import { linear } from '../../src/index.js';
import { attention } from '../../src/index.js';
import { crossEntropy, gather, rmsNorm, rope } from '../../src/index.js';
import { AdamW, Rng, backward, checkpoint, requiresGrad } from '../../src/index.js';
import { Tensor, fromHost, tidy } from '../../src/index.js';
import type { Device } from '../../src/index.js';
import { gpu } from '../helpers/gpu.js';


async function xor(target: 'cpu' | Device): Promise<number> {
  const rng = new Rng(5);
  const p = (shape: number[], std: number) => requiresGrad(fromHost(rng.normalArray(shape.reduce((a, b) => a * b, 1), 0, std), shape, 'f32', target));
  const x = fromHost([0, 0, 0, 1, 1, 0, 1, 1], [4, 2], 'f32', target);
  const y = fromHost([0, 1, 1, 0], [4], 'i32', target);
  const w1 = p([8, 2], 1), b1 = requiresGrad(fromHost(new Float32Array(8), [8], 'f32', target));
  const w2 = p([2, 8], 0.5), b2 = requiresGrad(fromHost(new Float32Array(2), [2], 'f32', target));
  const opt = new AdamW([w1, b1, w2, b2], { lr: 0.05, weightDecay: 0 });
  let loss = Infinity;
  for (let step = 0; step < 300; step++) {
    loss = await tidy(() => {
      const l = crossEntropy(linear(o.tanh(linear(x, w1, b1)), w2, b2), y);
      backward(l);
      return l;
    }).item();
    opt.step();
    opt.zeroGrad();
  }
  return loss;
}

test('an MLP learns XOR to near-zero loss (CPU and GPU)', async () => {
  const c = await xor('cpu');
  assert.ok(c < 0.01, `XOR loss ${c} (CPU)`);
  const g = await xor(await gpu());
  assert.ok(g < 0.01, `XOR loss ${g} (GPU)`);
  assert.ok(Math.abs(g - c) < 1e-3, `GPU ${g} vs CPU ${c}`);
});

async function tinyLM(target: 'cpu' | Device): Promise<{ loss: number; step: number; secs: number }> {
  const text = 'the quick brown fox jumps over the lazy dog';
  const vocab = [...new Set(text)].sort();
  const ids = [...text].map((ch) => vocab.indexOf(ch));
  const T = ids.length - 1, V = vocab.length, d = 32, H = 2, Dh = d / H, F = 64;
  const rng = new Rng(1);
  const param = (r: Rng, shape: number[], std: number) => requiresGrad(fromHost(r.normalArray(shape.reduce((a, b) => a * b, 1), 0, std), shape, 'f32', target));
  const emb = param(rng, [V, d], 0.5);
  const layers = [0, 1].map(() => ({
    n1: requiresGrad(fromHost(new Float32Array(d).fill(1), [d], 'f32', target)),
    wq: param(rng, [d, d], 0.15), wk: param(rng, [d, d], 0.15), wv: param(rng, [d, d], 0.15), wo: param(rng, [d, d], 0.15),
    n2: requiresGrad(fromHost(new Float32Array(d).fill(1), [d], 'f32', target)),
    wg: param(rng, [F, d], 0.15), wu: param(rng, [F, d], 0.15), wd: param(rng, [d, F], 0.1),
  }));
  const nf = requiresGrad(fromHost(new Float32Array(d).fill(1), [d], 'f32', target));
  const head = param(rng, [V, d], 0.15);
  const inp = fromHost(ids.slice(0, T), [1, T], 'i32', target);
  const tgt = fromHost(ids.slice(1), [T], 'i32', target);
  const pos = fromHost(Array.from({ length: T }, (_, i) => i), [T], 'i32', 'cpu');
  const params = [emb, nf, head, ...layers.flatMap((l) => Object.values(l))];
  const opt = new AdamW(params, { lr: 1e-2, weightDecay: 0 });
  const heads = (t: Tensor) => t.reshape([1, T, H, Dh]).transpose(1, 2);
  const block = (L: (typeof layers)[number]) => (h: Tensor) => {
    const a = rmsNorm(h, L.n1, 1e-6);
    const q = rope(heads(linear(a, L.wq)), pos), k = rope(heads(linear(a, L.wk)), pos), v = heads(linear(a, L.wv));
    const att = attention(q, k, v, { causal: true }).transpose(1, 2).reshape([1, T, d]);
    const h2 = linear(att, L.wo, undefined, { residual: h });
    const m = rmsNorm(h2, L.n2, 1e-6);
    return linear(o.mul(linear(m, L.wg, undefined, { activation: 'silu' }), linear(m, L.wu)), L.wd, undefined, { residual: h2 });
  };
  const t0 = Date.now();
  let loss = Infinity, step = 0;
  for (; step < 300 && loss >= 0.02; step++) {
    loss = await tidy(() => {
      let h = gather(emb, inp);
      // Layer 0 recomputed in backward (checkpoint), layer 1 taped normally.
      h = checkpoint(block(layers[0]), [h]);
      h = block(layers[1])(h);
      const logits = linear(rmsNorm(h, nf, 1e-6), head).reshape([T, V]);
      const l = crossEntropy(logits, tgt);
      backward(l);
      return l;
    }).item();
    opt.step();
    opt.zeroGrad();
  }
  return { loss, step, secs: (Date.now() - t0) / 1000 };
}

test('a tiny transformer LM (embedding, rmsNorm, rope attention, SiLU MLP, lm head, CE) memorises a string (CPU and GPU)', async () => {
  for (const target of ['cpu', await gpu()] as const) {
    const { loss, step, secs } = await tinyLM(target);
    const where = target === 'cpu' ? 'CPU' : 'GPU';
    console.log(`tiny LM (${where}): loss ${loss.toFixed(4)} after ${step} steps, ${secs.toFixed(1)} s`);
    assert.ok(loss < 0.1, `LM loss ${loss} after ${step} steps (${where})`);
  }
});

test.run();
