// Gradient of div: d/da = 1/b, d/db = -a/b². Broadcast inputs get the gradient summed back to their shape.
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';
import { sumTo } from './util.js';

registerGrad('div', {
  save: ({ needs: [, nb], inputs: [a, b] }) => [nb ? a : null, b],
  backward(c, [g]) {
    const [na, nb] = c.needs;
    const [sa, sb] = [c.inputs[0].shape, c.inputs[1].shape];
    const [a, b] = c.saved;
    return [na ? sumTo(o.div(g!, b!), sa) : null, nb ? sumTo(o.neg(o.div(o.mul(g!, a!), o.square(b!))), sb) : null];
  },
});
