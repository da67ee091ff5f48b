// Gradient of slice: the gradient placed at [start, end) of a zero tensor of the input's shape (concat of
// zeros, g, zeros along the axis).
import { concat } from '../../ops/reduce.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerGrad } from '../tape.js';
import { zerosOf } from './util.js';

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
    return [concat(parts, axis)];
  },
});
