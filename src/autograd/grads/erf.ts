// Gradient of erf: 2/√π · exp(−x²)
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('erf', {
  save: ({ needs: [n], inputs: [x] }) => [n ? x : null],
  backward(c, [g]) {
    return [o.mul(g!, o.affine(o.exp(o.scale(o.square(c.saved[0]!), -1)), 2 / Math.sqrt(Math.PI)))];
  },
});
