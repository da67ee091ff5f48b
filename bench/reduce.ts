// Reduce group: softmax, rmsNorm, layerNorm (and cross-entropy over the vocabulary) at SALMONN shapes, against
// the CPU reference and, where tfjs has the op, tfjs-webgpu: tf.softmax, and layer norm composed from tfjs ops
// (tf.moments over the last axis, then (x - mean) * rsqrt(var + eps) * w + b; tf.batchNorm broadcasts wrongly here). GB/s counts the minimal traffic (inputs read once, output
// written once).
import { crossEntropy, layerNorm, rmsNorm, softmax } from '../src/ops/reduce.js';
import { fromHost, Tensor } from '../src/tensor/tensor.js';
import { Ctx, compare, dispose, gpuRunner, hostRunner, measure, rate } from './harness.js';
import { loadTf, tfRunner, type Tf, type TfTensor } from './tfjs.js';

function values(n: number, seed: number): Float32Array {
  return new Float32Array(n).map((_, i) => Math.sin(i * 0.7 + seed) * 4);
}

type TfOp = (tf: Tf, x: TfTensor, w: TfTensor, b: TfTensor) => TfTensor;

export async function run(ctx: Ctx): Promise<void> {
  const reps = ctx.quick ? 3 : 5;
  const tf = await loadTf();
  const cases: { kernel: string; shape: number[]; bytes: (n: number, d: number) => number; op: (x: Tensor, w: Tensor, b: Tensor, t: Tensor) => Tensor; tf?: [string, TfOp] }[] = [
    { kernel: 'softmax', shape: [106 * 40, 106], bytes: (n) => 8 * n, op: (x) => softmax(x), tf: ['tfjs-webgpu softmax', (tf, x) => tf.softmax(x)] },
    { kernel: 'softmax', shape: [1, 32001], bytes: (n) => 8 * n, op: (x) => softmax(x), tf: ['tfjs-webgpu softmax', (tf, x) => tf.softmax(x)] },
    { kernel: 'rmsNorm', shape: [106, 5120], bytes: (n, d) => 8 * n + 4 * d, op: (x, w) => rmsNorm(x, w, 1e-6) },
    {
      kernel: 'layerNorm', shape: [1500, 1280], bytes: (n, d) => 8 * n + 8 * d, op: (x, w, b) => layerNorm(x, w, b, 1e-5),
      tf: ['tfjs-webgpu layer norm (moments + 5 ops)', (tf, x, w, b) => {
        const { mean, variance } = tf.moments(x, 1, true);
        return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), w), b);
      }],
    },
    { kernel: 'crossEntropy', shape: [106, 32001], bytes: (n) => 4 * n, op: (x, _w, _b, t) => crossEntropy(x, t) },
  ];
  for (const c of cases) {
    const [rows, d] = c.shape;
    const n = rows * d;
    ctx.progress(`reduce ${c.kernel} [${c.shape}]`);
    const xv = values(n, 1), wv = values(d, 2), bv = values(d, 3);
    const tv = Int32Array.from({ length: rows }, (_, i) => (i * 7919) % d);
    const g = [fromHost(xv, c.shape, 'f32', ctx.dev), fromHost(wv, [d], 'f32', ctx.dev), fromHost(bv, [d], 'f32', ctx.dev), fromHost(tv, [rows], 'i32', ctx.dev)];
    const h = [fromHost(xv, c.shape, 'f32', 'cpu'), fromHost(wv, [d], 'f32', 'cpu'), fromHost(bv, [d], 'f32', 'cpu'), fromHost(tv, [rows], 'i32', 'cpu')];
    const runners = [gpuRunner(ctx.dev, () => c.op(g[0], g[1], g[2], g[3])), hostRunner(() => c.op(h[0], h[1], h[2], h[3]).dispose())];
    const tfIn = c.tf && typeof tf !== 'string' ? [tf.tensor2d(xv, [rows, d]), tf.tensor1d(wv), tf.tensor1d(bv)] : null;
    if (tfIn && c.tf && typeof tf !== 'string') runners.push(tfRunner(tf, () => c.tf![1](tf, tfIn[0], tfIn[1], tfIn[2])));
    const [t, cpu, tfT] = await measure(runners, reps);
    const bytes = c.bytes(n, d), shape = `[${c.shape}]`;
    compare(ctx, { kernel: c.kernel, shape, dtype: 'f32', stats: t, work: bytes, gbps: rate(bytes, t) }, [
      ...(tfT ? [{ kernel: c.tf![0], shape, dtype: 'f32', stats: tfT, work: bytes, gbps: rate(bytes, tfT) }] : []),
      { kernel: 'cpu reference', shape, dtype: 'f32', stats: cpu, work: bytes, gbps: rate(bytes, cpu) },
    ]);
    for (const x of tfIn ?? []) x.dispose();
    dispose(...g, ...h);
  }
}
