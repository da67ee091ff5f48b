// Gradient of max along an axis (torch.amax): the gradient is shared evenly by the elements equal to the max.
import { div, equal, mul } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { registerGrad } from '../tape.js';
import { keepAxis } from './util.js';

registerGrad<{ axis: number; keepDims: boolean }>('max', {
  save: ({ inputs: [x], outputs: [y] }) => [x, y],
  backward(c, [g]) {
    const { axis, keepDims } = c.attrs;
    const [x, y] = c.saved;
    const mask = equal(x!, keepAxis(y!, axis, keepDims));
    const count = sum(mask, axis, true);
    return [mul(mask, div(keepAxis(g!, axis, keepDims), count))];
  },
});
