// Gradient of sqrt: dy/dx = 0.5/y
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('sqrt', {
  save: ({ needs: [n], outputs: [y] }) => [n ? y : null],
  backward(c, [g]) {
    return [o.div(o.scale(g!, 0.5), c.saved[0]!)];
  },
});
