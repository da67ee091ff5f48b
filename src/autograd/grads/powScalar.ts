// Gradient of powScalar: dy/dx = p·x^(p-1)
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('powScalar', {
  save: ({ needs: [n] , inputs: [x] }) => [n ? x : null],
  backward(c, [g]) {
    const p = c.attrs.alpha as number;
    if (p === 0) return [o.scale(g!, 0)];
    return [o.mul(g!, o.scale(o.powScalar(c.saved[0]!, p - 1), p))];
  },
});
