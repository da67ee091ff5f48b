// Gradient of silu: s = sigmoid(x), dy/dx = s(1 + x(1 - s))
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('silu', {
  save: ({ needs: [n] , inputs: [x] }) => [n ? x : null],
  backward(c, [g]) {
    const x = c.saved[0]!, s = o.sigmoid(x);
    return [o.mul(g!, o.mul(s, o.addScalar(o.mul(x, o.affine(s, -1, 1)), 1)))];
  },
});
