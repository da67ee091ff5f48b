// Gradient of mul: d/da = b, d/db = a. Broadcast inputs get the gradient summed back to their shape.
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';
import { sumTo } from './util.js';

registerGrad('mul', {
  save: ({ needs: [na, nb], inputs: [a, b] }) => [nb ? a : null, na ? b : null],
  backward(c, [g]) {
    const [na, nb] = c.needs;
    const [sa, sb] = [c.inputs[0].shape, c.inputs[1].shape];
    const [a, b] = c.saved;
    return [na ? sumTo(o.mul(g!, b!), sa) : null, nb ? sumTo(o.mul(g!, a!), sb) : null];
  },
});
