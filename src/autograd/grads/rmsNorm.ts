// Gradient of RMSNorm (HF LlamaRMSNorm): with h = x·r, r = 1/sqrt(mean(x²) + eps), y = w ⊙ h:
// dh = g ⊙ w; dx = r ⊙ (dh - h ⊙ mean(dh ⊙ h)); dw = Σ_rows g ⊙ h. (halfCast rounding is treated as identity.)
import { addScalar, mul, rsqrt, square, sub } from '../../ops/elementwise.js';
import { mean, sum } from '../../ops/reduce.js';
import { registerGrad } from '../tape.js';
import { rows } from './util.js';

registerGrad<{ eps: number }>('rmsNorm', {
  save: ({ inputs: [x, w], needs }) => [x, needs[0] ? w : null],
  backward(c, [g]) {
    const [x, w] = c.saved;
    const r = rsqrt(addScalar(mean(square(x!), -1, true), c.attrs.eps));
    const h = mul(x!, r);
    const dw = c.needs[1] ? sum(rows(mul(g!, h)), 0, false) : null;
    let dx = null;
    if (c.needs[0]) {
      const dh = mul(g!, w!);
      dx = mul(r, sub(dh, mul(h, mean(mul(dh, h), -1, true))));
    }
    return [dx, dw];
  },
});
