// Views for every backend: new shape/strides/offset over the same storage, copying only when a reshape of a
// non-contiguous tensor needs it.
import { ShapeError } from '../errors.js';
import { broadcastStrides, contiguousStrides, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { registerKernel, run1 } from './registry.js';

registerKernel<{ shape: number[] }>('reshape', '*', ([x], { shape }) => {
  if (sizeOf(shape) !== x.size) throw new ShapeError(`cannot reshape [${x.shape}] to [${shape}]`);
  if (x.isContiguous) return x.view(shape, contiguousStrides(shape));
  const c = run1('contiguous', [x], {});
  const v = c.view(shape, contiguousStrides(shape), c.offset);
  c.dispose();
  return v;
});

registerKernel<{ dims: number[] }>('permute', '*', ([x], { dims }) =>
  x.view(dims.map((d) => x.shape[d]), dims.map((d) => x.strides[d])),
);

registerKernel<{ axis: number; start: number; end: number }>('slice', '*', ([x], { axis, start, end }) => {
  const shape = [...x.shape];
  shape[axis] = end - start;
  return x.view(shape, x.strides, x.offset + (end > start ? start * x.strides[axis] : 0));
});

registerKernel<{ shape: number[] }>('broadcastTo', '*', ([x], { shape }) => x.view(shape, broadcastStrides(x.shape, x.strides, shape)));

export function isView(t: Tensor, of: Tensor): boolean {
  return t.storage === of.storage;
}
