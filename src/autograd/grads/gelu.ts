// Gradient of the exact-erf GELU: Φ(x) + x·φ(x), one fused elementwise kernel.
import { mul } from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';
import { geluDeriv } from './util.js';

registerGrad('gelu', {
  save: ({ needs: [n], inputs: [x] }) => [n ? x : null],
  backward: (c, [g]) => [mul(g!, geluDeriv(c.saved[0]!))],
});
