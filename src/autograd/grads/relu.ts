// Gradient of relu: dy/dx = 1[x > 0]
import * as o from '../../ops/elementwise.js';
import { constant } from './util.js';
import { registerGrad } from '../tape.js';

registerGrad('relu', {
  save: ({ needs: [n], outputs: [y] }) => [n ? y : null],
  backward(c, [g]) {
    return [o.mul(g!, o.greater(c.saved[0]!, constant(g!, 0)))];
  },
});
