// Gradient of softmax: dx = y ⊙ (g - Σ_axis g ⊙ y).
import { mul, sub } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { registerGrad } from '../tape.js';

registerGrad<{ axis: number }>('softmax', {
  save: ({ outputs: [y] }) => [y],
  backward(c, [g]) {
    const y = c.saved[0]!;
    return [mul(y, sub(g!, sum(mul(g!, y), c.attrs.axis, true)))];
  },
});
