// Elementwise bandwidth: our strided kernel vs the CPU reference.
import { gelu, add } from '../src/ops/elementwise.js';
import { fromHost } from '../src/tensor/tensor.js';
import { Ctx, time, timeHost, ms } from './harness.js';

export async function run(ctx: Ctx): Promise<void> {
  const n = ctx.quick ? 1 << 20 : 1 << 22;
  const v = new Float32Array(n).map((_, i) => Math.sin(i));
  const a = fromHost(v, [n], 'f32', ctx.dev), b = fromHost(v, [n], 'f32', ctx.dev);
  const ca = fromHost(v, [n], 'f32', 'cpu'), cb = fromHost(v, [n], 'f32', 'cpu');
  for (const [name, g, c, bytes] of [
    ['add', () => add(a, b), () => add(ca, cb), 12 * n],
    ['gelu', () => gelu(a), () => gelu(ca), 8 * n],
  ] as const) {
    const t = await time(ctx.dev, g);
    const cpu = await timeHost(() => c().dispose(), 2);
    ctx.report({ kernel: name, shape: `[${n}]`, dtype: 'f32', ...t, gbps: bytes / ms(t) / 1e6, baseline: 'cpu-reference', ratio: cpu / ms(t) });
  }
}
