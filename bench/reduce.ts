// Reduce group: softmax, rmsNorm, layerNorm (and cross-entropy over the vocabulary) at SALMONN shapes,
// against the CPU reference. GB/s counts the minimal traffic (each input read once, output written once).
import { crossEntropy, layerNorm, rmsNorm, softmax } from '../src/ops/reduce.js';
import { fromHost, Tensor } from '../src/tensor/tensor.js';
import { Ctx, dispose, ms, time, timeHost } from './harness.js';

function values(n: number, seed: number): Float32Array {
  return new Float32Array(n).map((_, i) => Math.sin(i * 0.7 + seed) * 4);
}

export async function run(ctx: Ctx): Promise<void> {
  const reps = ctx.quick ? 2 : 5;
  const cases: { kernel: string; shape: number[]; bytes: (n: number, d: number) => number; op: (x: Tensor, w: Tensor, b: Tensor, t: Tensor) => Tensor }[] = [
    { kernel: 'softmax', shape: [106 * 40, 106], bytes: (n) => 8 * n, op: (x) => softmax(x) },
    { kernel: 'softmax', shape: [1, 32001], bytes: (n) => 8 * n, op: (x) => softmax(x) },
    { kernel: 'rmsNorm', shape: [106, 5120], bytes: (n, d) => 8 * n + 4 * d, op: (x, w) => rmsNorm(x, w, 1e-6) },
    { kernel: 'layerNorm', shape: [1500, 1280], bytes: (n, d) => 8 * n + 8 * d, op: (x, w, b) => layerNorm(x, w, b, 1e-5) },
    { kernel: 'crossEntropy', shape: [106, 32001], bytes: (n) => 4 * n, op: (x, _w, _b, t) => crossEntropy(x, t) },
  ];
  for (const c of cases) {
    const [rows, d] = c.shape;
    const n = rows * d;
    const xv = values(n, 1), wv = values(d, 2), bv = values(d, 3);
    const tv = Int32Array.from({ length: rows }, (_, i) => (i * 7919) % d);
    const g = [fromHost(xv, c.shape, 'f32', ctx.dev), fromHost(wv, [d], 'f32', ctx.dev), fromHost(bv, [d], 'f32', ctx.dev), fromHost(tv, [rows], 'i32', ctx.dev)];
    const h = [fromHost(xv, c.shape, 'f32', 'cpu'), fromHost(wv, [d], 'f32', 'cpu'), fromHost(bv, [d], 'f32', 'cpu'), fromHost(tv, [rows], 'i32', 'cpu')];
    const t = await time(ctx.dev, () => c.op(g[0], g[1], g[2], g[3]), reps);
    const cpu = await timeHost(() => c.op(h[0], h[1], h[2], h[3]).dispose(), ctx.quick ? 1 : 3);
    ctx.report({ kernel: c.kernel, shape: `[${c.shape}]`, dtype: 'f32', ...t, gbps: c.bytes(n, d) / ms(t) / 1e6, baseline: 'cpu-reference', ratio: cpu / ms(t) });
    dispose(...g, ...h);
  }
}
