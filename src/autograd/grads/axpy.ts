// Gradient of axpy: y = a + alpha·b. Broadcast inputs get the gradient summed back to their shape.
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';
import { sumTo } from './util.js';

registerGrad('axpy', {
  backward(c, [g]) {
    const [na, nb] = c.needs;
    const [sa, sb] = [c.inputs[0].shape, c.inputs[1].shape];
    return [na ? sumTo(g!, sa) : null, nb ? o.scale(sumTo(g!, sb), c.attrs.alpha) : null];
  },
});
