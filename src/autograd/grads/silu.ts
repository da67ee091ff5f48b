// Gradient of SiLU: s = sigmoid(x), dy/dx = s(1 + x(1 - s)).
import { mul } from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';
import { siluDeriv } from './util.js';

registerGrad('silu', {
  save: ({ needs: [n], inputs: [x] }) => [n ? x : null],
  backward: (c, [g]) => [mul(g!, siluDeriv(c.saved[0]!))],
});
