// Gradient of minimum: the gradient goes to the selected input (a < b), split evenly on ties (as PyTorch). Broadcast inputs get the gradient summed back to their shape.
import * as o from '../../ops/elementwise.js';
import { registerGrad } from '../tape.js';
import { sumTo } from './util.js';

registerGrad('minimum', {
  save: ({ inputs: [a, b] }) => [a, b],
  backward(c, [g]) {
    const [na, nb] = c.needs;
    const [sa, sb] = [c.inputs[0].shape, c.inputs[1].shape];
    const [a, b] = c.saved;
    const tie = o.scale(o.equal(a!, b!), 0.5);
    return [
      na ? sumTo(o.mul(g!, o.add(o.greater(b!, a!), tie)), sa) : null,
      nb ? sumTo(o.mul(g!, o.add(o.greater(a!, b!), tie)), sb) : null,
    ];
  },
});
