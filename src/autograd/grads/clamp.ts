// Gradient of clamp: gradient passes where lo <= x <= hi (as PyTorch)
import * as o from '../../ops/elementwise.js';
import { constant } from './util.js';
import { registerGrad } from '../tape.js';

registerGrad('clamp', {
  save: ({ needs: [n] , inputs: [x] }) => [n ? x : null],
  backward(c, [g]) {
    const x = c.saved[0]!;
    const lo = constant(x, c.attrs.alpha), hi = constant(x, c.attrs.beta);
    // 1 - [lo > x] - [x > hi]
    const outside = o.add(o.greater(lo, x), o.greater(x, hi));
    return [o.mul(g!, o.affine(outside, -1, 1))];
  },
});
