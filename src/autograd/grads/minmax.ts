// Gradients of maximum and minimum: the gradient goes to the selected input, split evenly on ties (as PyTorch).
// Broadcast inputs get the gradient summed back to their shape.
import * as o from '../../ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerGrad } from '../tape.js';
import { sumTo } from './util.js';

const picks: [string, (a: Tensor, b: Tensor) => Tensor][] = [
  ['maximum', (a, b) => o.greater(a, b)],
  ['minimum', (a, b) => o.greater(b, a)],
];
for (const [op, aWins] of picks) {
  registerGrad(op, {
    save: ({ inputs: [a, b] }) => [a, b],
    backward(c, [g]) {
      const [na, nb] = c.needs;
      const [a, b] = c.saved;
      const tie = o.scale(o.equal(a!, b!), 0.5);
      return [
        na ? sumTo(o.mul(g!, o.add(aWins(a!, b!), tie)), c.inputs[0].shape) : null,
        nb ? sumTo(o.mul(g!, o.add(aWins(b!, a!), tie)), c.inputs[1].shape) : null,
      ];
    },
  });
}
