// Gradient of affine: y = alpha·x + beta
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';

registerGrad('affine', {
  backward(c, [g]) {
    return [o.scale(g!, c.attrs.alpha)];
  },
});
