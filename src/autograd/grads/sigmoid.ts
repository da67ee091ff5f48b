// Gradient of sigmoid: dy/dx = y(1 - y)
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('sigmoid', {
  save: ({ needs: [n], outputs: [y] }) => [n ? y : null],
  backward(c, [g]) {
    const y = c.saved[0]!;
    return [o.mul(g!, o.mul(y, o.affine(y, -1, 1)))];
  },
});
