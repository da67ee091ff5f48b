// Gradient of gelu: exact-erf GELU: Φ(x) + x·φ(x); Φ(x) = gelu(x)/x taken from the forward kernel itself (no erf op), 1/2 at x = 0
import * as o from '../../ops/elementwise.js';
import { constant } from './util.js';
import { registerGrad } from '../tape.js';

registerGrad('gelu', {
  save: ({ needs: [n] , inputs: [x] }) => [n ? x : null],
  backward(c, [g]) {
    const x = c.saved[0]!;
    // Near 0 (|x| < 1e-30, also where a GPU flushes denormals) use Φ = 1/2.
    const tiny = o.greater(constant(x, 1e-30), o.abs(x));
    const phiCdf = o.add(o.div(o.gelu(x), o.add(x, tiny)), o.scale(tiny, 0.5));
    const pdf = o.scale(o.exp(o.scale(o.square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [o.mul(g!, o.add(phiCdf, o.mul(x, pdf)))];
  },
});
