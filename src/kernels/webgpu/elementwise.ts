// One elementwise kernel for every unary and binary op: strided/broadcast inputs in f32/f16/i32, f32 output,
// chunked over bindings so tensors larger than maxStorageBufferBindingSize work.
import { broadcastShapes } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { UNARY_WGSL, BINARY_WGSL, WGSL_ERF } from '../elementwise-defs.js';
import { WGSL_ELEMENT_MAIN, bindElements, elementwisePlan, f32Bits, grid, newOutput, wgslInput, wgslMeta, wgslStridedOffset } from './util.js';

export function elementwise(op: string, inputs: Tensor[], alpha = 0, beta = 0): Tensor {
  const dev = inputs[0].device!;
  const shape = broadcastShapes(...inputs.map((t) => t.shape));
  const rank = shape.length;
  const out = newOutput(dev, shape);
  const n = out.size;
  if (n === 0) return out;
  const { ins, chunk } = elementwisePlan(dev, inputs, shape);
  const expr = inputs.length === 1 ? UNARY_WGSL[op] : BINARY_WGSL[op];
  const key = `ew:${op}:${rank}:${ins.map((i) => `${i.t.dtype}${i.aligned ? 'a' : 's'}`).join(',')}`;
  const pipeline = dev.pipeline(key, () => {
    const names = ['a', 'b', 'c'];
    const metaIn = (k: number) => 5 + rank + k * (rank + 1);
    return `${ins.map((x, k) => wgslInput(k, names[k], x.t.dtype)).join('\n')}
@group(0) @binding(${ins.length}) var<storage, read_write> y: array<f32>;
${wgslMeta(ins.length + 1)}
${WGSL_ERF}
${ins.map((x, k) => (x.aligned ? `fn off${k}(gi: u32) -> u32 { return prm[${metaIn(k)}u] + gi; }` : wgslStridedOffset(k, rank, 5, metaIn(k) + 1, metaIn(k)))).join('\n')}
fn f(${ins.map((_, k) => `${names[k]}: f32`).join(', ')}, alpha: f32, beta: f32) -> f32 { return ${expr}; }
${WGSL_ELEMENT_MAIN}
  let gi = prm[1] + gi_;
  y[gi - prm[2]] = f(${ins.map((_, k) => `ld_${names[k]}(off${k}(gi))`).join(', ')}, metaf(3u), metaf(4u));
}`;
  });
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const yb = bindElements(out, start, count);
    const meta: number[] = [count, start, yb.sub, f32Bits(alpha), f32Bits(beta), ...shape];
    const bindings = ins.map((x) => {
      const b = x.aligned && x.t.span > count ? bindElements(x.t, x.t.offset + start, count) : bindElements(x.t, x.t.offset, x.t.span);
      meta.push(x.t.offset - b.sub, ...x.strides);
      return b.range;
    });
    dev.dispatch(pipeline, [...bindings, yb.range, dev.meta(meta)], ...grid(dev, count));
  }
  return out;
}
