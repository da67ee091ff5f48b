// Gradient of neg: dy/dx = -1
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('neg', {
  backward(c, [g]) {
    return [o.neg(g!)];
  },
});
