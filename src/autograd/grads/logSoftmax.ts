// Gradient of logSoftmax: dx = g - exp(y) ⊙ Σ_axis g.
import { exp, mul, sub } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { registerGrad } from '../tape.js';

registerGrad<{ axis: number }>('logSoftmax', {
  save: ({ outputs: [y] }) => [y],
  backward(c, [g]) {
    return [sub(g!, mul(exp(c.saved[0]!), sum(g!, c.attrs.axis, true)))];
  },
});
