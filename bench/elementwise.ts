// Elementwise bandwidth: our strided kernel against the CPU reference and (add; tfjs has no GELU) tfjs-webgpu.
import { gelu, add } from '../src/ops/elementwise.js';
import { fromHost } from '../src/tensor/tensor.js';
import { Ctx, compare, dispose, gpuRunner, hostRunner, measure, rate } from './harness.js';
import { loadTf, tfRunner } from './tfjs.js';

export async function run(ctx: Ctx): Promise<void> {
  const n = ctx.quick ? 1 << 20 : 1 << 22;
  const reps = ctx.quick ? 3 : 5;
  const tf = await loadTf();
  const v = new Float32Array(n).map((_, i) => Math.sin(i));
  const a = fromHost(v, [n], 'f32', ctx.dev), b = fromHost(v, [n], 'f32', ctx.dev);
  const ca = fromHost(v, [n], 'f32', 'cpu'), cb = fromHost(v, [n], 'f32', 'cpu');
  const ta = typeof tf !== 'string' ? tf.tensor1d(v) : null, tb = typeof tf !== 'string' ? tf.tensor1d(v) : null;
  for (const [name, g, c, bytes] of [
    ['add', () => add(a, b), () => add(ca, cb), 12 * n],
    ['gelu', () => gelu(a), () => gelu(ca), 8 * n],
  ] as const) {
    ctx.progress(`elementwise ${name} [${n}]`);
    const useTf = name === 'add' && typeof tf !== 'string';
    const runners = [gpuRunner(ctx.dev, g), hostRunner(() => c().dispose())];
    if (useTf) runners.push(tfRunner(tf, () => tf.add(ta!, tb!)));
    const [t, cpu, tfT] = await measure(runners, reps);
    const shape = `[${n}]`;
    compare(ctx, { kernel: name, shape, dtype: 'f32', stats: t, work: bytes, gbps: rate(bytes, t) }, [
      ...(tfT ? [{ kernel: 'tfjs-webgpu add', shape, dtype: 'f32', stats: tfT, work: bytes, gbps: rate(bytes, tfT) }] : []),
      { kernel: 'cpu reference', shape, dtype: 'f32', stats: cpu, work: bytes, gbps: rate(bytes, cpu) },
    ]);
  }
  ta?.dispose();
  tb?.dispose();
  dispose(a, b, ca, cb);
}
