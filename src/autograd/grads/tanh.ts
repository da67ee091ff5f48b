// Gradient of tanh: dy/dx = 1 - y²
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('tanh', {
  save: ({ needs: [n], outputs: [y] }) => [n ? y : null],
  backward(c, [g]) {
    return [o.mul(g!, o.affine(o.square(c.saved[0]!), -1, 1))];
  },
});
