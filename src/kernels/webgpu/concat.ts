// Concatenation along any axis: one dispatch per input, one invocation per input element, reading a strided
// view (f32/f16/i32) and writing its place in the contiguous output. The output is i32 when every input is
// i32, else f32; an all-f16 concat is done in f32 and cast back to f16 (f16 outputs are packed in pairs that
// two inputs could share).
import type { DType } from '../../tensor/dtype.js';
import { contiguousStrides } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { run1 } from '../registry.js';
import { WGSL_ELEMENT_MAIN, bindElements, grid, newOutput, wgslInput, wgslMeta } from './util.js';

/** Output dtype of a concat: the common dtype when all inputs share one, else f32. */
export function concatDtype(dtypes: DType[]): DType {
  return dtypes.every((d) => d === dtypes[0]) ? dtypes[0] : 'f32';
}

export function concat(inputs: Tensor[], axis: number): Tensor {
  const dtype = concatDtype(inputs.map((t) => t.dtype));
  if (dtype === 'f16') {
    const f = concatInto(inputs, axis, 'f32');
    const h = run1('cast', [f], { dtype: 'f16' });
    f.dispose();
    return h;
  }
  return concatInto(inputs, axis, dtype);
}

function concatInto(inputs: Tensor[], axis: number, dtype: 'f32' | 'i32'): Tensor {
  const dev = inputs[0].device!;
  const shape = [...inputs[0].shape];
  shape[axis] = inputs.reduce((a, t) => a + t.shape[axis], 0);
  const out = newOutput(dev, shape, dtype);
  if (out.size === 0) return out;
  const rank = shape.length;
  const ys = contiguousStrides(shape);
  const yb = bindElements(out, 0, out.size);
  let at = 0;
  for (const t of inputs) {
    const n = t.size;
    if (n === 0) {
      at += t.shape[axis];
      continue;
    }
    const raw = dtype === 'i32';
    const pipeline = dev.pipeline(`concat:${t.dtype}>${dtype}:${rank}`, () => `${raw ? '@group(0) @binding(0) var<storage, read> a: array<i32>;' : wgslInput(0, 'a', t.dtype)}
@group(0) @binding(1) var<storage, read_write> y: array<${raw ? 'i32' : 'f32'}>;
${wgslMeta(2)}
${WGSL_ELEMENT_MAIN}
  var rem = gi_;
  var xo = prm[1];
  var yo = prm[2];
  for (var d: i32 = ${rank - 1}; d >= 0; d--) {
    let s = prm[3u + u32(d)];
    let i = rem % s;
    rem = rem / s;
    xo += i * prm[${3 + rank}u + u32(d)];
    yo += i * prm[${3 + 2 * rank}u + u32(d)];
  }
  y[yo] = ${raw ? 'a[xo]' : 'ld_a(xo)'};
}`);
    const xb = bindElements(t, t.offset, t.span);
    const meta = [n, t.offset - xb.sub, at * ys[axis], ...t.shape, ...t.strides, ...ys];
    dev.dispatch(pipeline, [xb.range, yb.range, dev.meta(meta)], ...grid(dev, n));
    at += t.shape[axis];
  }
  return out;
}
