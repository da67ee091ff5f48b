import type { DType } from '../../tensor/dtype.js';
import { roundF16 } from '../../tensor/dtype.js';
import { broadcastShapes, broadcastStrides } from '../../tensor/shape.js';
import { Tensor, empty, forEachIndex } from '../../tensor/tensor.js';
import { BINARY_CPU, UNARY_CPU } from '../elementwise-defs.js';

/** CPU reference of the elementwise kernel: float64 math, f32 result. */
export function elementwiseCpu(op: string, inputs: Tensor[], alpha = 0, beta = 0): Tensor {
  const shape = broadcastShapes(...inputs.map((t) => t.shape));
  const out = empty(shape, 'f32', 'cpu');
  const y = out.storage.host!;
  const views = inputs.map((t) => ({ h: t.storage.host!, s: broadcastStrides(t.shape, t.strides, shape), o: t.offset }));
  if (inputs.length === 1) {
    const f = UNARY_CPU[op];
    const a = views[0];
    forEachIndex(shape, a.s, a.o, (src, i) => (y[i] = f(a.h[src], alpha, beta)));
  } else {
    const f = BINARY_CPU[op];
    const a = views[0], b = views[1];
    const av = new Float64Array(out.size);
    forEachIndex(shape, a.s, a.o, (src, i) => (av[i] = a.h[src]));
    forEachIndex(shape, b.s, b.o, (src, i) => (y[i] = f(av[i], b.h[src], alpha)));
  }
  return out;
}

export function copyCpu(x: Tensor, dtype: DType = x.dtype): Tensor {
  const out = empty(x.shape, dtype, 'cpu');
  const y = out.storage.host!, h = x.storage.host!;
  if (dtype === 'f16') forEachIndex(x.shape, x.strides, x.offset, (src, i) => (y[i] = roundF16(h[src])));
  else if (dtype === 'i32' && x.dtype !== 'i32') forEachIndex(x.shape, x.strides, x.offset, (src, i) => (y[i] = Math.trunc(h[src])));
  else forEachIndex(x.shape, x.strides, x.offset, (src, i) => (y[i] = h[src]));
  return out;
}
