// Gradient of the exact-erf GELU: Φ(x) + x·φ(x), with Φ(x) = gelu(x)/x taken from the forward kernel itself
// (there is no erf op), 1/2 at x = 0.
import { mul } from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';
import { geluDeriv } from './util.js';

registerGrad('gelu', {
  save: ({ needs: [n], inputs: [x] }) => [n ? x : null],
  backward: (c, [g]) => [mul(g!, geluDeriv(c.saved[0]!))],
});
