// Gradient of square: dy/dx = 2x
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('square', {
  save: ({ needs: [n] , inputs: [x] }) => [n ? x : null],
  backward(c, [g]) {
    return [o.mul(o.scale(g!, 2), c.saved[0]!)];
  },
});
