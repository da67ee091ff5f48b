// Gradient of rsqrt: y = x^-1/2, dy/dx = -0.5·y³
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('rsqrt', {
  save: ({ needs: [n], outputs: [y] }) => [n ? y : null],
  backward(c, [g]) {
    const y = c.saved[0]!;
    return [o.mul(o.scale(g!, -0.5), o.mul(o.square(y), y))];
  },
});
