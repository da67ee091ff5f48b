// Gradient of abs: dy/dx = sign(x) (0 at 0, as PyTorch)
import * as o from '../../ops/elementwise.js';
import { constant } from './util.js';
import { registerGrad } from '../tape.js';

registerGrad('abs', {
  save: ({ needs: [n] , inputs: [x] }) => [n ? x : null],
  backward(c, [g]) {
    const x = c.saved[0]!, z = constant(x, 0);
    return [o.mul(g!, o.sub(o.greater(x, z), o.greater(z, x)))];
  },
});
