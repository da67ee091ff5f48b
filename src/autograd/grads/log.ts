// Gradient of log: dy/dx = 1/x
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('log', {
  save: ({ needs: [n] , inputs: [x] }) => [n ? x : null],
  backward(c, [g]) {
    return [o.div(g!, c.saved[0]!)];
  },
});
