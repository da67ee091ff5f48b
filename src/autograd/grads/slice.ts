// Gradient of slice: the gradient placed at [start, end) of a zero tensor of the input's shape (concat of
// zeros, g, zeros along the axis).
import { AhamaskError } from '../../errors.js';
import * as reduceOps from '../../ops/reduce.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerGrad } from '../tape.js';
import { zerosOf } from './util.js';

type ConcatFn = (ts: Tensor[], axis: number) => Tensor;

registerGrad<{ axis: number; start: number; end: number }>('slice', {
  backward(c, [g]) {
    const { axis, start, end } = c.attrs;
    const shape = c.inputs[0].shape;
    const n = shape[axis];
    if (start === 0 && end === n) return [g];
    const parts: Tensor[] = [];
    const piece = (len: number) => zerosOf(g!, shape.map((d, i) => (i === axis ? len : d)));
    if (start > 0) parts.push(piece(start));
    parts.push(g!);
    if (end < n) parts.push(piece(n - end));
    const concat = (reduceOps as unknown as { concat?: ConcatFn }).concat;
    if (!concat) throw new AhamaskError('autograd: slice gradient needs concat (reduce group), not available yet');
    return [concat(parts, axis)];
  },
});
