// Gradient of exp: dy/dx = y
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('exp', {
  save: ({ needs: [n], outputs: [y] }) => [n ? y : null],
  backward(c, [g]) {
    return [o.mul(g!, c.saved[0]!)];
  },
});
